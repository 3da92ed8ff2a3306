"""The model as an MLflow code model: log_model.py logs this file with mlflow.pyfunc.log_model(python_model=...).

MLflow imports this file when the model is logged and again when it is served; it imports only MLflow and its
neighbour scoring.py, which log_model.py packs with the model (code_paths).
"""

from __future__ import annotations

from typing import Any

import mlflow

from scoring import score_rows


class TextScoreModel(mlflow.pyfunc.PythonModel):
    """Scores each row's "text" column: label and score."""

    # model_input has no type hint on purpose: MLflow would infer a signature from it and override the explicit
    # one that log_model.py gives (Unity Catalog needs inputs and outputs).
    def predict(self, context: Any, model_input, params: Any = None) -> list[dict[str, Any]]:
        if hasattr(model_input, "to_dict"):  # the pandas DataFrame MLflow builds from the request
            rows = model_input.to_dict(orient="records")
        elif isinstance(model_input, dict):
            rows = [model_input]
        else:
            rows = list(model_input)
        return score_rows(rows)


mlflow.models.set_model(TextScoreModel())
