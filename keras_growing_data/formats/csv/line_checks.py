"""Judges CSV lines one by one in Python, by `decode_csv`'s rules: to name a bad line, or to skip them."""

from collections.abc import Iterator

import numpy as np

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.csv.tf_parser import NO_DEFAULT, ChunkPlan
from keras_growing_data.formats.number_syntax import FLOAT, INT
from keras_growing_data.formats.schema import SPACES
from keras_growing_data.utils.printable import excerpt

_INT64 = np.iinfo(np.int64)


def line_problems(first_line: int, data: bytes, plan: ChunkPlan) -> Iterator[tuple[int, bytes, str | None]]:
    """Yields `(line number, line, reason or None)` for each non-blank line."""
    for offset, raw in enumerate(data.split(b"\n")):
        raw = raw.removesuffix(b"\r")  # One CR, as `lines_of` drops it.
        if raw:
            yield first_line + offset, raw, line_problem(raw, plan)


def line_problem(raw: bytes, plan: ChunkPlan) -> str | None:
    """Why one line is not a row of `plan`, or `None`."""
    # Bytes that are not UTF-8 matter only in a column that is read, as in TensorFlow's parse.
    text = raw.decode("utf-8", "surrogateescape")
    try:
        fields = split_fields(text)
    except ValueError as e:
        return f"not CSV: {e}"
    if len(fields) != plan.num_fields:
        return f"expected {plan.num_fields} fields, found {len(fields)}"
    for dtype, columns in plan.groups:
        for name, position, default in columns:
            if position is None:
                continue
            value = fields[position]
            if not _is_utf8(value):
                return f"column {excerpt(name)}: not valid UTF-8"
            if value.strip(SPACES) in plan.na_values:
                if default is NO_DEFAULT:
                    missing = excerpt(value)
                    return f"column {excerpt(name)}: missing value {missing}, and the column has no default"
                continue
            problem = value_problem(value, dtype)
            if problem:
                return f"column {excerpt(name)}: {problem}"
    return None


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # A surrogate: a byte that was not UTF-8.
        return False
    return True


def value_problem(value: str, dtype: str) -> str | None:
    """Why a field that is not missing is not a value of type `dtype`, or `None`."""
    if dtype == "float32":
        if not FLOAT.fullmatch(value):
            return f"expected a number, found {excerpt(value)}"
        if not np.isfinite(_float32(value)):
            found = excerpt(value.strip(SPACES))
            return f"expected a finite number, found {found} (NaN and infinite values are rejected)"
    elif dtype == "int64":
        if not INT.fullmatch(value) or not _INT64.min <= int(value) <= _INT64.max:
            return f"expected an integer (int64), found {excerpt(value)}"
    return None


def _float32(value: str) -> np.float32:
    text = value.strip(SPACES)
    number = float.fromhex(text) if "x" in text.lower() else float(text)
    with np.errstate(over="ignore"):  # Beyond float32 is inf, which is refused.
        return np.float32(number)


def split_fields(text: str) -> list[str]:
    """A line's fields, as `decode_csv` splits them with quote handling on.

    A field that starts with a quote ends at the next lone quote, which must
    end the field; a doubled quote inside is one quote. Any other field may
    not hold a quote.

    Raises:
        ValueError: the line breaks these rules.
    """
    fields = []
    start = 0
    while True:
        if text.startswith('"', start):
            end = start + 1
            parts = []
            while True:
                close = text.find('"', end)
                if close < 0:
                    raise ValueError("a quoted field has no closing quote")
                parts.append(text[end:close])
                if not text.startswith('""', close):
                    break
                parts.append('"')
                end = close + 2
            start = close + 1
            if start < len(text) and text[start] != ",":
                raise ValueError("a quoted field goes on after its closing quote")
            fields.append("".join(parts))
        else:
            comma = text.find(",", start)
            end = len(text) if comma < 0 else comma
            if '"' in text[start:end]:
                raise ValueError("a quote inside an unquoted field")
            fields.append(text[start:end])
            start = end
        if start >= len(text):
            return fields
        start += 1  # The comma.
        if start == len(text):
            fields.append("")
            return fields


def good_lines(data: bytes, num_fields: int) -> Iterator[list[str]]:
    """The fields of each line of a chunk that is UTF-8 CSV with `num_fields` fields."""
    for raw in data.split(b"\n"):
        try:
            fields = split_fields(raw.removesuffix(b"\r").decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if len(fields) == num_fields:
            yield fields


def diagnose(first_line: int, data: bytes, plan: ChunkPlan) -> None:
    """Raises `BadFileError` for the first line of `data` that does not parse."""
    for number, _, reason in line_problems(first_line, data, plan):
        if reason is not None:
            separator = "," if reason.startswith("column") else ":"
            raise BadFileError(f"line {number}{separator} {reason}")
