"""Parses a chunk of JSON Lines in Python, line by line: any chunk's rows, and the line at fault.

The Arrow parser (`arrow_lines.py`) takes the common chunks; this one takes
the rest (a string column that holds numbers, a number column that mixes
booleans, a bad line), by the same rules (`json_values.py`).
"""

import numpy as np
import pyarrow as pa

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.bad_row import BadRow
from keras_growing_data.formats.float32_values import float32_losses, needs_direct_parse
from keras_growing_data.formats.jsonl.json_values import (
    BadLine,
    JsonNumber,
    float_value,
    int_value,
    line_object,
    missing,
    string_value,
)
from keras_growing_data.formats.jsonl.key_plan import NO_DEFAULT, KeyColumn, KeyPlan, LinesParsed

# JSON's whitespace: a line of only these is blank, and skipped.
JSON_SPACES = b" \t\r"
_CONVERTERS = {"float32": float_value, "int64": int_value, "string": string_value}


def python_lines(data: bytes, first_line: int, plan: KeyPlan, skip_bad_rows: bool) -> LinesParsed:
    """The rows of a chunk of whole lines, the first numbered `first_line`.

    Raises:
        BadFileError: a line is bad (named, with its key), unless `skip_bad_rows`.
    """
    keys = {}
    rows = {dtype: [] for dtype, _ in plan.groups}
    skipped = []
    for offset, raw in enumerate(data.split(b"\n")):
        if not raw.strip(JSON_SPACES):
            continue
        try:
            line = line_object(raw)
            row = {
                dtype: tuple(_value(line, column, dtype) for column in columns)
                for dtype, columns in plan.groups
            }
        except BadLine as e:
            if not skip_bad_rows:
                raise BadFileError(e.at(first_line + offset)) from None
            skipped.append(BadRow(first_line + offset, e.text))
            continue
        keys.update(dict.fromkeys(line))
        for dtype, values in row.items():
            rows[dtype].append(values)
    num_rows = len(next(iter(rows.values()), ()))
    if not num_rows:
        return LinesParsed(None, tuple(keys), tuple(skipped))
    arrays, strings, losses = [], [], ()
    for dtype, _ in plan.groups:
        if dtype == "float32":
            narrowed, losses = _floats(rows[dtype])
            arrays.append(narrowed)
        elif dtype == "int64":
            arrays.append(np.array(rows[dtype], np.int64))
        else:
            ids, distinct = _strings(rows[dtype])
            arrays.append(ids)
            strings.extend(distinct)
    return LinesParsed((tuple(arrays), tuple(strings), tuple(losses)), tuple(keys), tuple(skipped))


def _value(line: dict, column: KeyColumn, dtype: str):
    """The value of `column` in a line (a JSON value, or its default), as `_CONVERTERS` make it."""
    value = None if column.given else line.get(column.name)
    if value is None:
        if column.default is NO_DEFAULT:
            raise missing(line, column)
        return column.default if dtype != "float32" else float(column.default)
    converted = _CONVERTERS[dtype](value, column.name)
    # A number keeps its text, which a float32 near a float64 rounding midpoint is parsed from again.
    return value if dtype == "float32" and isinstance(value, JsonNumber) else converted


def _floats(rows: list[tuple]) -> tuple[np.ndarray, list]:
    """The float32 group of a chunk's rows, and what float32 lost of them (`float32_losses`).

    Each number is rounded to float32 from its decimal text, as TensorFlow
    and Arrow parse it straight to float32, where its float64 may round
    otherwise (`needs_direct_parse`).
    """
    values = np.array(rows, np.float64)  # JsonNumbers (str) are parsed by numpy's float().
    narrowed = values.astype(np.float32)
    if needs_direct_parse(values):
        for j in range(values.shape[1]):
            texts = [row[j] for row in rows]
            numbers = [i for i, text in enumerate(texts) if isinstance(text, JsonNumber)]
            if numbers:
                direct = pa.array([texts[i] for i in numbers], pa.string()).cast(pa.float32())
                narrowed[numbers, j] = direct.to_numpy(zero_copy_only=False)
    return narrowed, float32_losses(values, narrowed)


def _strings(rows: list[tuple]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """The string group of a chunk's rows as ids, and each column's distinct strings, in order first seen."""
    width = len(rows[0])
    ids = np.empty((len(rows), width), np.int32)
    distinct = []
    for j in range(width):
        known = {}
        ids[:, j] = np.fromiter((known.setdefault(row[j], len(known)) for row in rows), np.int32, len(rows))
        distinct.append(tuple(known))
    return ids, distinct
