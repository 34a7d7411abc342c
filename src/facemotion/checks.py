"""Checks of values a user hands the Python API, shared by every layer so each rule is written once."""

from __future__ import annotations

import numbers

__all__ = ["is_whole"]


def is_whole(value: object, minimum: int = 1) -> bool:
    """A whole number >= ``minimum``: 2.5, NaN or True would pass a plain ``< minimum`` test and fail later."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum
