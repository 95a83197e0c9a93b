"""The columns that Hive-style folder names (`dt=2026-12-01/`) give the files below them."""

import math
import urllib.parse
from collections.abc import Mapping, Sequence

import numpy as np

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.float32_values import float32_losses
from keras_growing_data.formats.number_syntax import INT, parses_as_number
from keras_growing_data.formats.schema import SPACES, Schema
from keras_growing_data.utils.printable import excerpt
from keras_growing_data.utils.scratch_arrays import row_blocks

# What a partition column holds in a file's parse plan, per dtype, until the
# file's rows are stacked and its own value fills it. A plan that held the
# values would trace a parser for every new value (a new date every day), and
# keep each one cached for the rest of the run.
FLOAT32_MAX = float(np.finfo(np.float32).max)
# How Hive and Spark name the folder of rows whose partition value is null.
HIVE_MISSING = "__HIVE_DEFAULT_PARTITION__"
PLACEHOLDERS = {"float32": 0.0, "int64": 0, "string": ""}


def partition_values(relative_path: str) -> dict[str, str]:
    """Column -> value of each `key=value` folder of a path below the watched folder, outermost first.

    Keys and values are unescaped as Hive and Spark escape them
    (`city=S%C3%A3o%20Paulo`). Folders without `=` give nothing.

    Example:

    >>> partition_values("dt=2026-12-01/hour=03/part-0.csv.gz")
    {'dt': '2026-12-01', 'hour': '03'}

    Raises:
        BadFileError: two folders give the same column different values.
    """
    values = {}
    for folder in relative_path.split("/")[:-1]:
        key, equals, value = folder.partition("=")
        if not equals or not key:
            continue
        key, value = urllib.parse.unquote(key), urllib.parse.unquote(value)
        if values.get(key, value) != value:
            raise BadFileError(
                f"its folders give the column {excerpt(key)} two values, "
                f"{excerpt(values[key])} and {excerpt(value)}"
            )
        values[key] = value
    return values


def typed_partition(
    partition: Mapping[str, str],
    columns: Sequence[str],
    dtypes: Mapping[str, str] | None,
    defaults: Mapping[str, object],
    na_values: frozenset[str],
) -> tuple[dict[str, object], tuple[str, ...]]:
    """The values a file's folders give its columns, typed; and the columns the schema ignores.

    Each value fills its whole column, which the file lacks, as a default
    would (a missing value, Hive's `__HIVE_DEFAULT_PARTITION__` included,
    takes the column's default). With a schema
    (`dtypes`), a value takes its column's type, and a column the schema
    does not have is ignored (listed second); without one, a value that
    reads as a number is a float, any other a str.

    Raises:
        BadFileError: the file has the column too, a value does not read as
            its column's type, or it is missing and the column has no default.
    """
    given, ignored = {}, []
    for name, value in partition.items():
        folder = excerpt(f"{name}={value}")
        if name in columns:
            raise BadFileError(f"has the column {excerpt(name)}, which its folder {folder} gives as well")
        dtype = None if dtypes is None else dtypes.get(name)
        if dtypes is not None and dtype is None:
            ignored.append(name)
        elif value.strip(SPACES) in na_values or value == HIVE_MISSING:
            if name not in defaults:
                raise BadFileError(
                    f"its folder {folder} gives the column {excerpt(name)} a missing value, "
                    "and the column has no default"
                )
            given[name] = defaults[name]
        else:
            given[name] = _typed(name, value, dtype, folder)
    return given, tuple(ignored)


def placeholders(values: Mapping[str, object], schema: Schema) -> dict[str, object]:
    """The defaults that hold the places of a file's partition columns (`typed_partition`) in its plan."""
    dtypes = schema.dtypes
    return {name: PLACEHOLDERS[dtypes[name]] for name in values}


def fill_partition(
    values: Mapping[str, object],
    schema: Schema,
    arrays: Mapping[str, np.ndarray],
    strings: dict[str, tuple[str, ...]],
) -> dict[int, tuple[int, float, int, float]]:
    """Fills each partition column of a file's stacked rows with its value, in place (a map in blocks).

    A string column's distinct strings become the value alone, every index
    0. Returns, by position among the float32 columns, what float32 loses
    of each float32 value (`float32_losses`), counted for every row.
    """
    losses = {}
    for name, value in values.items():
        dtype, j = schema.slot(name)
        fill = value
        if dtype == "string":
            fill = 0
            strings[name] = (value,)
        elif dtype == "float32":
            exact = np.array([[value]], np.float64)
            narrowed = exact.astype(np.float32)
            fill = narrowed[0, 0]
            ((integers, integer, zeros, zero),) = float32_losses(exact, narrowed)
            rows = len(arrays[dtype])
            losses[j] = (integers * rows, integer, zeros * rows, zero)
        for block in row_blocks(arrays[dtype]):
            block[:, j] = fill
    return losses


def _typed(name: str, value: str, dtype: str | None, folder: str) -> object:
    """A folder's value as a value of its column's type (`None`: not known yet)."""
    number = value.strip(SPACES)
    if dtype == "string" or (dtype is None and not parses_as_number(number)):
        return value
    if dtype == "int64":
        if not INT.fullmatch(number) or not -(2**63) <= int(number) < 2**63:
            raise BadFileError(
                f"its folder {folder} gives int64 column {excerpt(name)} the value {excerpt(value)}, "
                "which is not an integer"
            )
        return int(number)
    parsed = _float(number) if parses_as_number(number) else math.nan
    # As in a file: a value float32 cannot hold (1e39) is not finite there, and is refused.
    if not math.isfinite(parsed) or abs(parsed) > FLOAT32_MAX:
        raise BadFileError(
            f"its folder {folder} gives float32 column {excerpt(name)} the value {excerpt(value)}, "
            "which is not a finite number"
        )
    return parsed


def _float(number: str) -> float:
    """A number as `decode_csv` writes it, hexadecimal (`0x1p3`) included, which `float` does not read."""
    try:
        return float(number)
    except ValueError:
        return float.fromhex(number)
