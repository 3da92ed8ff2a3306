"""A small, transparent text scorer: positive and negative words, counted. Plain Python, no dependencies.

model.py wraps it as an MLflow pyfunc model; replace it with your own logic and keep the examples below in step,
because log_model.py builds the model signature from them.
"""

from __future__ import annotations

import re
from typing import Any

POSITIVE = frozenset({"good", "great", "excellent", "love", "like", "happy", "fast", "helpful", "easy", "reliable"})
NEGATIVE = frozenset({"bad", "poor", "terrible", "hate", "slow", "broken", "hard", "unhappy", "wrong", "fails"})
_WORD = re.compile(r"[a-z']+")

INPUT_EXAMPLE: list[dict[str, Any]] = [{"text": "The new release is fast and reliable."}, {"text": "The job fails."}]


def score_text(text: str) -> dict[str, Any]:
    """Label a text positive, negative or neutral, with a score between -1 and 1."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    words = _WORD.findall(text.lower())
    positive = sum(word in POSITIVE for word in words)
    negative = sum(word in NEGATIVE for word in words)
    total = positive + negative
    score = 0.0 if total == 0 else (positive - negative) / total
    label = "positive" if score > 0 else "negative" if score < 0 else "neutral"
    return {"label": label, "score": round(score, 4)}


def score_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score every row's "text"."""
    missing = [i for i, row in enumerate(rows) if "text" not in row]
    if missing:
        raise ValueError(f"rows {missing} have no 'text' column")
    return [score_text(row["text"]) for row in rows]


OUTPUT_EXAMPLE: list[dict[str, Any]] = score_rows(INPUT_EXAMPLE)
