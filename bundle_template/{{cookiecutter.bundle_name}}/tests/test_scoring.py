"""The scorer is plain Python: labels, scores, the signature examples and clear errors."""

from __future__ import annotations

import pytest

from scoring import INPUT_EXAMPLE, OUTPUT_EXAMPLE, score_rows, score_text


@pytest.mark.parametrize(
    ("text", "label"),
    [("Fast and reliable, I love it", "positive"), ("Slow and broken", "negative"), ("It is Tuesday", "neutral")],
)
def test_labels(text: str, label: str) -> None:
    result = score_text(text)
    assert result["label"] == label
    assert -1.0 <= result["score"] <= 1.0


def test_examples_describe_inputs_and_outputs() -> None:
    # Unity Catalog needs a signature with inputs AND outputs: both examples must be complete and agree.
    assert INPUT_EXAMPLE and all(set(row) == {"text"} for row in INPUT_EXAMPLE)
    assert score_rows(INPUT_EXAMPLE) == OUTPUT_EXAMPLE
    assert all(set(row) == {"label", "score"} for row in OUTPUT_EXAMPLE)


def test_bad_input_gives_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no 'text' column"):
        score_rows([{"txt": "typo"}])
    with pytest.raises(TypeError, match="must be a string"):
        score_text(42)  # type: ignore[arg-type]


def test_signature_has_inputs_and_outputs() -> None:
    models = pytest.importorskip("mlflow.models", reason="MLflow is not installed")
    pd = pytest.importorskip("pandas")
    signature = models.infer_signature(pd.DataFrame(INPUT_EXAMPLE), pd.DataFrame(OUTPUT_EXAMPLE))
    assert signature.inputs.input_names() == ["text"]
    assert signature.outputs.input_names() == ["label", "score"]
