"""Judges CSV lines one by one in Python: to name a bad line, or to skip bad lines."""

import csv
from collections.abc import Iterator, Sequence

import numpy as np

from keras_growing_data.sources.records import BadFileError


def line_problems(
    first_line: int, data: bytes, columns: Sequence[str]
) -> Iterator[tuple[int, bytes, str | None]]:
    """Yields `(line number, line, reason or None)` for each non-blank line.

    The same rules as the fast path: the right number of fields, each a
    finite float32.
    """
    for offset, raw in enumerate(data.split(b"\n")):
        raw = raw.rstrip(b"\r")
        if raw:
            yield first_line + offset, raw, _line_problem(raw, columns)


def _line_problem(raw: bytes, columns: Sequence[str]) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not valid UTF-8"
    try:
        fields = next(csv.reader([text], skipinitialspace=True), [])
    except csv.Error as e:  # A field over csv.field_size_limit(), for one.
        return f"not CSV: {e}"
    if len(fields) != len(columns):
        return f"expected {len(columns)} fields, found {len(fields)}"
    for name, value in zip(columns, fields, strict=True):
        try:
            number = np.float32(float(value))
        except (ValueError, OverflowError):
            return f"column {name!r}: expected a number, found {value!r}"
        if not np.isfinite(number):
            return (
                f"column {name!r}: expected a finite number, found {value.strip()!r} "
                "(NaN and infinite values are rejected)"
            )
    return None


def diagnose(first_line: int, data: bytes, columns: Sequence[str]) -> None:
    """Raises `BadFileError` for the first line of `data` that does not parse."""
    for number, _, reason in line_problems(first_line, data, columns):
        if reason is not None:
            separator = "," if reason.startswith("column") else ":"
            raise BadFileError(f"line {number}{separator} {reason}")
