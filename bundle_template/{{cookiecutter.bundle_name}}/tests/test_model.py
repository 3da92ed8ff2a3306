"""The pyfunc wrapper around the scorer. Needs MLflow (skipped without it)."""

from __future__ import annotations

import pytest

pytest.importorskip("mlflow", reason="MLflow is not installed (pip install -r requirements-dev.txt)")

from model import TextScoreModel  # noqa: E402
from scoring import INPUT_EXAMPLE, OUTPUT_EXAMPLE  # noqa: E402


def test_predict_on_records() -> None:
    assert TextScoreModel().predict(None, INPUT_EXAMPLE) == OUTPUT_EXAMPLE


def test_predict_on_a_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    assert TextScoreModel().predict(None, pd.DataFrame(INPUT_EXAMPLE)) == OUTPUT_EXAMPLE
