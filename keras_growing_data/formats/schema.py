"""The columns training reads: their names and types, how rows are laid out, and what a missing value is."""

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

DTYPES = ("float32", "int64", "string")

# What is stripped from a value before it is compared with the missing-value
# spellings: ASCII whitespace, as `tf.strings.strip` strips (not Unicode's).
SPACES = " \t\n\v\f\r"

# How each type is stored: numbers as themselves, a string as the int32 id of
# its column's vocabulary ("dictionary encoding": one copy of each string).
STORED_AS = {"float32": np.float32, "int64": np.int64, "string": np.int32}

# pandas' default missing-value spellings (`pandas._libs.parsers.STR_NA_VALUES`,
# pandas 3.1), so that a file means the same here as to `pandas.read_csv`.
PANDAS_NA_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Schema:
    """The columns in force, with their types, and where each is stored.

    Rows are stored in one array per type (`STORED_AS`), each laid out as
    the features of that type in schema order, then the labels of that type
    in the order they were named: so an all-float32 table is one matrix whose
    first columns are `x`, as Keras wants it, with no gather per batch.

    Example:

    >>> schema = Schema((("city", "string"), ("area", "float32"), ("price", "float32")), ("price",))
    >>> schema.slot("price")
    ('float32', 1)

    Args:
        columns: `(name, dtype)` pairs in schema order, dtype one of `DTYPES`.
        labels: the label columns, in the order they were named.
    """

    columns: tuple[tuple[str, str], ...]
    labels: tuple[str, ...] = ()

    @property
    def dtypes(self) -> dict[str, str]:
        """Name -> dtype, in schema order."""
        return dict(self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def features(self) -> tuple[str, ...]:
        """The columns that are not labels, in schema order."""
        return tuple(name for name in self.names if name not in self.labels)

    def stored_order(self, dtype: str) -> tuple[str, ...]:
        """The columns of one dtype, in the order their array keeps them."""
        dtypes = self.dtypes
        return tuple(n for n in self.features + self.labels if dtypes[n] == dtype)

    @property
    def groups(self) -> tuple[str, ...]:
        """The dtypes that have columns, in `DTYPES` order: the arrays a row is stored in."""
        present = set(self.dtypes.values())
        return tuple(dtype for dtype in DTYPES if dtype in present)

    def slot(self, name: str) -> tuple[str, int]:
        """The array (by dtype) and column index where column `name` is stored."""
        dtype = self.dtypes[name]
        return dtype, self.stored_order(dtype).index(name)

    def to_json(self) -> list:
        return [list(pair) for pair in self.columns]

    @classmethod
    def from_json(cls, columns: Sequence, labels: Sequence[str]) -> "Schema":
        return cls(tuple((name, dtype) for name, dtype in columns), tuple(labels))


def check_columns(columns, labels: Sequence[str]) -> Schema | None:
    """The `columns` argument (`None`, or a dict name -> dtype) as a `Schema`, or `None` to infer one."""
    if columns is None:
        return None
    if not isinstance(columns, Mapping):
        raise TypeError(
            'columns must be None or a dict of column name -> "float32", "int64" or "string", '
            f"got {columns!r} ({type(columns).__name__})."
        )
    for name, dtype in columns.items():
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise ValueError(
                f"columns: {name!r} is not a column name (a non-empty str without spaces around)."
            )
        if dtype not in DTYPES or not isinstance(dtype, str):
            allowed = ", ".join(repr(d) for d in DTYPES)
            raise ValueError(f"columns: the type of {name!r} must be one of {allowed}, got {dtype!r}.")
    undeclared = [name for name in labels if name not in columns]
    if undeclared:
        raise ValueError(f"columns must declare the label columns too; it lacks {undeclared}.")
    schema = Schema(tuple(columns.items()), tuple(labels))
    if not schema.features:
        raise ValueError("columns declares no feature column besides the labels.")
    return schema


def check_defaults(defaults, schema: Schema | None) -> dict[str, object]:
    """The `defaults` argument (`None`, or a dict name -> value) checked, against `schema` if declared."""
    if defaults is None:
        return {}
    if not isinstance(defaults, Mapping):
        raise TypeError(f"defaults must be None or a dict of column name -> value, got {defaults!r}.")
    for name, value in defaults.items():
        if not isinstance(value, str | numbers.Real) or isinstance(value, bool):
            raise TypeError(f"defaults: the default of {name!r} must be a number or a str, got {value!r}.")
        if schema is None:
            continue
        if name not in schema.dtypes:
            raise ValueError(f"defaults names {name!r}, which columns does not declare.")
        problem = default_problem(name, value, schema.dtypes[name])
        if problem:
            raise ValueError(f"defaults: {problem}.")
    # numpy's numbers as Python's, which JSON (the state's manifest) can write.
    return {
        name: v if isinstance(v, str) else int(v) if isinstance(v, numbers.Integral) else float(v)
        for name, v in defaults.items()
    }


def default_problem(name: str, value, dtype: str) -> str | None:
    """Why `value` cannot fill a missing value of column `name` of type `dtype`, or `None`."""
    if dtype == "string":
        return (
            None
            if isinstance(value, str)
            else f"the default of string column {name!r} must be a str, got {value!r}"
        )
    if isinstance(value, str):
        return f"the default of {dtype} column {name!r} must be a number, got {value!r}"
    if dtype == "int64" and not isinstance(value, numbers.Integral):
        return f"the default of int64 column {name!r} must be an integer, got {value!r}"
    if dtype == "float32" and math.isinf(float(value)):
        return f"the default of {name!r} must be finite or NaN, got {value!r}"
    return None


def check_na_values(na_values) -> frozenset[str]:
    """The `na_values` argument as the set of missing-value spellings ("" is always one)."""
    if na_values is None:
        return frozenset(PANDAS_NA_VALUES)
    if isinstance(na_values, str) or not isinstance(na_values, Iterable):
        raise TypeError(f"na_values must be None or a list of str, got {na_values!r}.")
    na_values = list(na_values)
    if not all(isinstance(v, str) for v in na_values):
        raise TypeError(f"na_values must be None or a list of str, got {na_values!r}.")
    return frozenset(v.strip(SPACES) for v in na_values) | {""}
