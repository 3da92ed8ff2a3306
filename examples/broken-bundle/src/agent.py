"""The model log_model.py logs from code: a plain PythonModel, so nothing gives it a signature (DG204)."""

import mlflow
from mlflow.pyfunc import PythonModel


class SupportAgent(PythonModel):
    def predict(self, context, model_input):  # type: ignore[no-untyped-def]
        return model_input


mlflow.models.set_model(SupportAgent())
