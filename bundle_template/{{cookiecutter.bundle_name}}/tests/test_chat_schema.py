"""The request and response format: what the signature is built from, and what the agent answers."""

from __future__ import annotations

from typing import Any

import pytest

from chat_schema import (
    REQUEST_EXAMPLE,
    RESPONSE_EXAMPLE,
    chat_response,
    error_reply,
    graph_input,
    message_text,
    request_messages,
)


def test_examples_have_the_chat_completions_shape() -> None:
    # Unity Catalog needs a signature with inputs AND outputs: both examples must be complete.
    assert REQUEST_EXAMPLE["messages"] and all({"role", "content"} <= m.keys() for m in REQUEST_EXAMPLE["messages"])
    choice = RESPONSE_EXAMPLE["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"


def test_chat_response_wraps_the_text() -> None:
    assert chat_response("hi")["choices"][0]["message"]["content"] == "hi"


class FakeFrame:
    """What model serving passes after checking the signature: a DataFrame; only to_dict is used."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def to_dict(self, orient: str) -> list[dict[str, Any]]:
        assert orient == "records"
        return self.rows


@pytest.mark.parametrize(
    "model_input",
    [
        REQUEST_EXAMPLE,
        [REQUEST_EXAMPLE],
        FakeFrame([REQUEST_EXAMPLE]),
        FakeFrame([{"messages": tuple(REQUEST_EXAMPLE["messages"])}]),  # a DataFrame cell holds an array, not a list
    ],
)
def test_request_messages_reads_every_input_form(model_input: Any) -> None:
    assert request_messages(model_input) == [REQUEST_EXAMPLE["messages"]]


@pytest.mark.parametrize("model_input", ["hello", {"prompt": "hello"}, {"messages": [{"role": "user"}]}])
def test_request_messages_refuses_other_input(model_input: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        request_messages(model_input)


def test_graph_input_from_a_request_or_a_message_list() -> None:
    assert graph_input(REQUEST_EXAMPLE) == REQUEST_EXAMPLE
    assert graph_input(["message"]) == {"messages": ["message"]}
    with pytest.raises(TypeError):
        graph_input("hello")


def test_message_text_reads_dicts_objects_and_content_blocks() -> None:
    class Message:
        content = [{"type": "text", "text": "4"}, {"type": "text", "text": "2"}]

    assert message_text({"role": "assistant", "content": "42"}) == "42"
    assert message_text(Message()) == "42"


def test_error_reply_names_the_failure() -> None:
    assert "TimeoutError: endpoint timed out" in error_reply(TimeoutError("endpoint timed out"))


def test_signature_has_inputs_and_outputs() -> None:
    models = pytest.importorskip("mlflow.models", reason="MLflow is not installed")
    signature = models.infer_signature(model_input=REQUEST_EXAMPLE, model_output=RESPONSE_EXAMPLE)
    assert signature.inputs.input_names() == ["messages"]
    assert "choices" in signature.outputs.input_names()
