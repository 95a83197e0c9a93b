"""Parses a chunk of JSON Lines with Arrow's JSON reader: the rows of the common chunks, in C++ threads.

A chunk whose values Arrow cannot type as the schema wants (a number in a
string column, booleans mixed with numbers, a bad line), or whose lines it
reads otherwise than Python's json would (two objects on one line), gives
`None`: the Python parser (`python_lines.py`) then reads it, by the same
rules, and names the line at fault.
"""

import functools
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from keras_growing_data.formats.float32_values import float32_losses, needs_direct_parse
from keras_growing_data.formats.jsonl.json_values import FLOAT32_ROUNDS_TO_INF
from keras_growing_data.formats.jsonl.key_plan import NO_DEFAULT, KeyColumn, KeyPlan, LinesParsed

# A line of JSON whitespace alone, which Arrow skips (as the Python parser does), after a line or first.
# (A pattern that starts with `(?:^|\n)` is tried at every byte: 30 times slower on 1M lines.)
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")
_BLANK_FIRST_LINE = re.compile(rb"[ \t\r]*\n")


def arrow_lines(data: bytes, plan: KeyPlan, block_bytes: int) -> LinesParsed | None:
    """The rows of a chunk of whole lines, or `None` if the Python parser must read it.

    Arrow's reader cuts the chunk into blocks of `block_bytes` at line ends
    and parses them in parallel threads.
    """
    try:
        table = pa_json.read_json(
            pa.BufferReader(data),
            read_options=pa_json.ReadOptions(block_size=block_bytes),
            parse_options=_parse_options(plan),
        )
    except (pa.ArrowException, UnicodeDecodeError):
        return None
    if not _one_row_a_line(data, table.num_rows):
        return None
    # A string column is in the table whether or not a line has its key.
    keys = tuple(name for name in table.column_names if table[name].null_count < table.num_rows)
    if not table.num_rows:
        return LinesParsed(None, keys)
    arrays, strings, losses = [], [], ()
    for dtype, columns in plan.groups:
        if dtype == "float32":
            parsed = _floats(table, columns)
            if parsed is None:
                return None
            arrays.append(parsed[0])
            losses = parsed[1]
        elif dtype == "int64":
            ints = _ints(table, columns)
            if ints is None:
                return None
            arrays.append(ints)
        else:
            parsed = _strings(table, columns)
            if parsed is None:
                return None
            arrays.append(parsed[0])
            strings.extend(parsed[1])
    return LinesParsed((tuple(arrays), tuple(strings), tuple(losses)), keys)


@functools.cache
def _parse_options(plan: KeyPlan) -> pa_json.ParseOptions:
    """String columns are typed (Arrow keeps their strings as written); the other keys are inferred.

    Inferred, a number column is int64, double or bool (all of which are
    numbers here), and the keys the schema lacks are found (`keys`).
    """
    read = plan.read_names
    strings = [column.name for column in plan.columns_of("string") if column.name in read]
    return pa_json.ParseOptions(
        explicit_schema=pa.schema([(name, pa.string()) for name in strings]),
        unexpected_field_behavior="infer",
    )


def _one_row_a_line(data: bytes, rows: int) -> bool:
    """Whether Arrow read one row from each line that is not blank (it reads `{...}{...}` as two)."""
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if rows == lines and not _BLANK_LINE.search(data) and not _BLANK_FIRST_LINE.match(data):
        return True
    return rows == sum(1 for line in data.split(b"\n") if line.strip(b" \t\r"))


def _column(table: pa.Table, column: KeyColumn) -> tuple[pa.ChunkedArray | None, int]:
    """The values of a column read from the lines (`None`: no line has them), and how many are missing."""
    if column.given or column.name not in table.column_names:
        return None, table.num_rows
    values = table[column.name]
    return (values, values.null_count) if values.null_count < table.num_rows else (None, table.num_rows)


def _floats(table: pa.Table, columns: tuple[KeyColumn, ...]) -> tuple[np.ndarray, list] | None:
    """The float32 group (from numbers and booleans), and what float32 lost; `None` for the Python parser.

    A missing value without a default, a value float32 cannot hold, and one
    whose float64 may round to another float32 than its decimal does
    (`needs_direct_parse`) are left to the Python parser, which names the
    line or parses the value again.
    """
    values = np.empty((table.num_rows, len(columns)), np.float64)
    read = []
    for j, column in enumerate(columns):
        found, missing = _column(table, column)
        if missing and column.default is NO_DEFAULT:
            return None
        if found is None:
            values[:, j] = column.default
            continue
        kind = found.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
            return None
        as_float = pc.cast(found, pa.float64(), safe=False)
        if missing:
            read.append((j, found.is_valid().to_numpy(zero_copy_only=False)))
            as_float = pc.fill_null(as_float, float(column.default))
        else:
            read.append((j, None))
        values[:, j] = as_float.to_numpy()
    for j, valid in read:
        column_values = values[:, j] if valid is None else values[valid, j]
        if not (np.abs(column_values) < FLOAT32_ROUNDS_TO_INF).all():
            return None
    if needs_direct_parse(values):
        return None
    narrowed = values.astype(np.float32)
    return narrowed, float32_losses(values, narrowed)


def _ints(table: pa.Table, columns: tuple[KeyColumn, ...]) -> np.ndarray | None:
    """The int64 group (from integers and booleans); `None` for the Python parser (`1.0`, say)."""
    values = np.empty((table.num_rows, len(columns)), np.int64)
    for j, column in enumerate(columns):
        found, missing = _column(table, column)
        if missing and column.default is NO_DEFAULT:
            return None
        if found is None:
            values[:, j] = column.default
            continue
        if not (pa.types.is_int64(found.type) or pa.types.is_boolean(found.type)):
            return None
        as_int = pc.cast(found, pa.int64())
        if missing:
            as_int = pc.fill_null(as_int, column.default)
        values[:, j] = as_int.to_numpy()
    return values


def _strings(table: pa.Table, columns: tuple[KeyColumn, ...]) -> tuple[np.ndarray, list] | None:
    """The string group as ids, and each column's distinct strings; `None` for the Python parser.

    Arrow dictionary-encodes a column in C++; its distinct strings must be
    UTF-8 (Arrow's reader does not check), else the Python parser names the line.
    """
    ids = np.empty((table.num_rows, len(columns)), np.int32)
    distinct = []
    for j, column in enumerate(columns):
        found, missing = _column(table, column)
        if missing and column.default is NO_DEFAULT:
            return None
        if found is None:
            ids[:, j] = 0
            distinct.append((column.default,))
            continue
        encoded = found.combine_chunks().dictionary_encode()
        try:
            strings = encoded.dictionary.to_pylist()
        except UnicodeDecodeError:
            return None
        indices = encoded.indices
        if missing:
            indices = pc.fill_null(indices, len(strings))
            strings.append(column.default)
        ids[:, j] = indices.to_numpy()
        distinct.append(tuple(strings))
    return ids, distinct
