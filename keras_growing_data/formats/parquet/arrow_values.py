"""One column of a batch of Parquet rows, as Arrow reads it, made the values of a schema type.

Each function takes a column whose type the schema's type reads
(`arrow_types.READS`) and gives its `Values`: one value a row, which rows
have none (a null; NaN, in a float32 column) and which hold a value the
type cannot (an infinite number, an integer past int64, a timestamp past
int64 nanoseconds, a string that is not UTF-8), with the reason of any row.
"""

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as arrow

from keras_growing_data.formats.partitions import FLOAT32_MAX
from keras_growing_data.utils.printable import excerpt

INT64_MAX = np.iinfo(np.int64).max
# A timestamp's unit, in nanoseconds.
NANOSECONDS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


@dataclasses.dataclass
class Values:
    """A column's values for a schema type, one a row, and the rows that have none or a bad one.

    `values` is float32 or float64 (for float32, NaN where missing),
    int64, or int32 indices into `strings` (the column's distinct strings,
    in the order first seen; -1 where missing). `nulls`, `missing` (nulls,
    and NaN) and `bad` are boolean masks of the rows, or `None` for none;
    `column` is the Arrow column, which the reasons quote.
    """

    values: np.ndarray
    column: pa.Array
    nulls: np.ndarray | None = None
    missing: np.ndarray | None = None
    bad: np.ndarray | None = None
    strings: tuple[str, ...] = ()

    def problem(self, row: int) -> str:
        """Why row `row` (of the batch) has no value of the column's type: missing (no default), or bad."""
        if self.nulls is not None and self.nulls[row]:
            return "missing value (null), and the column has no default"
        if self.missing is not None and self.missing[row]:
            return "missing value (NaN), and the column has no default"
        found = self.column[row]
        if arrow.is_timestamp(found.type):
            shown = excerpt(str(found.cast(pa.string())))
            return f"the timestamp {shown} is past int64 nanoseconds (years 1677 to 2262)"
        if arrow.is_integer(found.type):
            return f"expected an integer int64 can hold, found {excerpt(str(found))}"
        if self.strings:
            return "not valid UTF-8"
        if abs(float(found.as_py())) == float("inf"):
            return f"expected a finite number, found {excerpt(str(found))}"
        return f"expected a number float32 can hold, found {excerpt(str(found))}"


def float32_values(column: pa.Array) -> Values:
    """A column read as float32: float32 values as they are, others as float64, to narrow.

    Nulls and NaN are missing; an infinite value, or one past float32's
    range, is bad.
    """
    column = _decoded(column)
    nulls = _nulls(column)
    if arrow.is_null(column.type):
        return Values(np.zeros(len(column), np.float32), column, nulls, nulls)
    if column.type == pa.float32():
        values = column.to_numpy(zero_copy_only=False)
    else:
        wide = column if column.type == pa.float64() else column.cast(pa.float64(), safe=False)
        values = wide.to_numpy(zero_copy_only=False)  # Nulls are NaN.
    if np.isfinite(values).all() and (values.dtype == np.float32 or _within_float32(values)):
        return Values(values, column)
    missing = np.isnan(values)
    bad = ~np.isfinite(values) & ~missing
    if values.dtype == np.float64:
        with np.errstate(invalid="ignore"):
            bad |= np.abs(values) > FLOAT32_MAX
    return Values(values, column, nulls, _some(missing), _some(bad))


def int64_values(column: pa.Array) -> Values:
    """A column read as int64: integers and booleans as they are, dates in days, timestamps in nanoseconds.

    Nulls are missing; an integer past int64 (a large uint64) or a timestamp
    past int64 nanoseconds is bad.
    """
    column = _decoded(column)
    nulls = _nulls(column)
    if arrow.is_null(column.type):
        return Values(np.zeros(len(column), np.int64), column, nulls, nulls)
    if arrow.is_timestamp(column.type):
        values, bad = _nanoseconds(column)
        return Values(values, column, nulls, nulls, bad)
    if arrow.is_date(column.type):
        days = column.cast(pa.date32()).cast(pa.int32())
        return Values(_filled(days).astype(np.int64), column, nulls, nulls)
    if column.type == pa.uint64():
        raw = _filled(column)
        return Values(raw.astype(np.int64), column, nulls, nulls, _some(raw > INT64_MAX))
    return Values(_filled(column.cast(pa.int64())), column, nulls, nulls)


def string_values(column: pa.Array) -> Values:
    """A column read as strings: indices into its distinct strings, in the order first seen.

    Strings as they are; dates as `2026-12-01`; timestamps in nanoseconds,
    as Arrow writes them (`2026-12-01 03:04:05.000000000`, with the offset
    of their time zone, `Z` for UTC); numbers and booleans as Arrow writes
    them (`1.5`, `true`). Nulls are missing; a string that is not UTF-8, or
    a timestamp past int64 nanoseconds, is bad.
    """
    nulls = _nulls(column)
    if arrow.is_null(column.type):
        return Values(np.full(len(column), -1, np.int32), column, nulls, nulls)
    bad = None
    if arrow.is_dictionary(column.type) and _is_text(column.type.value_type):
        indices, dictionary = column.indices, column.dictionary
        if not _in_first_seen_order(indices, len(dictionary)):
            # A Parquet dictionary may hold strings no row of the batch uses, in any order.
            first_seen = pc.dictionary_encode(indices)
            indices, dictionary = first_seen.indices, dictionary.take(first_seen.dictionary)
    else:
        column = _decoded(column)
        text = column
        if arrow.is_timestamp(text.type):
            nanoseconds, bad = _nanoseconds(text)
            text = pa.array(nanoseconds, pa.timestamp("ns", text.type.tz), mask=nulls)
        if not _is_text(text.type) or arrow.is_string_view(text.type):
            text = text.cast(pa.string())
        encoded = pc.dictionary_encode(text)
        indices, dictionary = encoded.indices, encoded.dictionary
    codes = _filled(indices, -1).astype(np.int32, copy=False)
    strings, not_utf8 = _strings(dictionary)
    if not_utf8:
        bad = _some(np.isin(codes, not_utf8) | (False if bad is None else bad))
    return Values(codes, column, nulls, nulls, bad, strings)


def _in_first_seen_order(indices: pa.Array, size: int) -> bool:
    """Whether indices into a dictionary of `size` use each of its entries, first seen in its order.

    As a writer that builds its dictionary as values come (Arrow's, Spark's)
    writes them: then they need no renumbering.
    """
    used = pc.unique(indices).drop_null()
    return len(used) == size and bool((used.to_numpy(zero_copy_only=False) == np.arange(size)).all())


def _strings(dictionary: pa.Array) -> tuple[tuple[str, ...], list[int]]:
    """The strings of a dictionary, and the positions of those that are not UTF-8 (Arrow does not check)."""
    try:
        return tuple(dictionary.to_pylist()), []
    except UnicodeDecodeError:
        pass
    raw = dictionary.view(pa.large_binary() if arrow.is_large_string(dictionary.type) else pa.binary())
    strings, not_utf8 = [], []
    for i, value in enumerate(raw.to_pylist()):
        try:
            strings.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            strings.append("")
            not_utf8.append(i)
    return tuple(strings), not_utf8


def _nanoseconds(column: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """A timestamp column in nanoseconds since 1970 (nulls 0), and the rows past int64 nanoseconds."""
    raw = _filled(column.cast(pa.int64()))
    factor = NANOSECONDS[column.type.unit]
    bad = _some(np.abs(raw) > INT64_MAX // factor)
    return (raw if bad is None else np.where(bad, 0, raw)) * factor, bad


def _is_text(arrow_type: pa.DataType) -> bool:
    return (
        arrow.is_string(arrow_type) or arrow.is_large_string(arrow_type) or arrow.is_string_view(arrow_type)
    )


def _within_float32(values: np.ndarray) -> bool:
    return bool(np.abs(values).max(initial=0.0) <= FLOAT32_MAX)


def _decoded(column: pa.Array) -> pa.Array:
    """A dictionary-encoded column as its values; any other as it is."""
    return column.dictionary_decode() if arrow.is_dictionary(column.type) else column


def _nulls(column: pa.Array) -> np.ndarray | None:
    """The null rows of a column, or `None` if it has none."""
    if column.null_count == 0:
        return None
    return column.is_null().to_numpy(zero_copy_only=False)


def _some(mask: np.ndarray) -> np.ndarray | None:
    """A mask of rows, or `None` if it holds none."""
    return mask if mask.any() else None


def _filled(column: pa.Array, fill: int = 0) -> np.ndarray:
    """An integer column as a NumPy array, its nulls `fill`."""
    if column.null_count:
        column = column.fill_null(fill)
    return column.to_numpy(zero_copy_only=False)
