"""Unit conversion for a few common units of length, mass and temperature."""

from __future__ import annotations

# Factor to the base unit of each dimension (metre, kilogram).
_LINEAR: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "cm": ("length", 0.01),
    "mi": ("length", 1609.344),
    "ft": ("length", 0.3048),
    "in": ("length", 0.0254),
    "kg": ("mass", 1.0),
    "g": ("mass", 0.001),
    "lb": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125),
}
_TEMPERATURE = {"c", "f", "k"}


def convert_units(value: float, from_unit: str, to_unit: str) -> str:
    """Convert a value between units: m, km, cm, mi, ft, in (length); kg, g, lb, oz (mass); C, F, K (temperature)."""
    source, target = from_unit.strip().lower(), to_unit.strip().lower()
    if source in _TEMPERATURE and target in _TEMPERATURE:
        return f"{_round(_from_kelvin(_to_kelvin(value, source), target))} {to_unit.strip().upper()}"
    if source not in _LINEAR or target not in _LINEAR:
        unknown = from_unit if source not in _LINEAR and source not in _TEMPERATURE else to_unit
        raise ValueError(f"unknown unit {unknown!r}; known: {', '.join([*_LINEAR, 'C', 'F', 'K'])}")
    (source_kind, source_factor), (target_kind, target_factor) = _LINEAR[source], _LINEAR[target]
    if source_kind != target_kind:
        raise ValueError(f"cannot convert {source_kind} ({from_unit}) to {target_kind} ({to_unit})")
    return f"{_round(value * source_factor / target_factor)} {to_unit.strip()}"


def _to_kelvin(value: float, unit: str) -> float:
    return {"c": value + 273.15, "f": (value - 32) * 5 / 9 + 273.15, "k": value}[unit]


def _from_kelvin(value: float, unit: str) -> float:
    return {"c": value - 273.15, "f": (value - 273.15) * 9 / 5 + 32, "k": value}[unit]


def _round(value: float) -> float:
    return round(value, 6)
