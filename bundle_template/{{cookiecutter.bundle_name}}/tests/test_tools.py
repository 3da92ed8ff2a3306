"""The tools are plain Python: their answers, and the clear errors the agent reads back when input is bad."""

from __future__ import annotations

import pytest

from tools import TOOL_FUNCTIONS, calculate, convert_units


def test_calculate_does_arithmetic() -> None:
    assert calculate("6 * 7") == "42"
    assert calculate("(2 + 3) ** 2 - 1 / 4") == "24.75"
    assert calculate("-7 // 2") == "-4"


@pytest.mark.parametrize(
    ("expression", "error", "message"),
    [
        ("1 / 0", ZeroDivisionError, "division"),
        ("__import__('os').system('echo no')", ValueError, "only numbers"),
        ("2 ** 100000", ValueError, "too large"),
        ("6 *", ValueError, "not an arithmetic expression"),
        ("True + 1", ValueError, "only numbers"),
    ],
)
def test_calculate_refuses_with_a_clear_error(expression: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        calculate(expression)


def test_convert_units() -> None:
    assert convert_units(5, "km", "m") == "5000.0 m"
    assert convert_units(1, "mi", "km") == "1.609344 km"
    assert convert_units(100, "C", "F") == "212.0 F"
    assert convert_units(0, "k", "c") == "-273.15 C"


@pytest.mark.parametrize(
    ("value", "source", "target", "message"),
    [(1, "parsec", "m", "unknown unit 'parsec'"), (1, "kg", "m", "cannot convert mass"), (1, "m", "C", "unknown unit")],
)
def test_convert_units_refuses_with_a_clear_error(value: float, source: str, target: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        convert_units(value, source, target)


def test_every_tool_has_a_docstring_the_model_can_read() -> None:
    for function in TOOL_FUNCTIONS:
        assert function.__doc__ and function.__doc__.strip(), function.__name__
