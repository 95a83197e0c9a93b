"""Raw column values, as a program holds them, made into the `x` a callback's batches serve."""

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf

from keras_growing_data.errors import BadValueError
from keras_growing_data.formats.column_names import listed_names, suggestions
from keras_growing_data.formats.csv.line_checks import value_problem
from keras_growing_data.formats.schema import SPACES, Schema
from keras_growing_data.utils.printable import EXCERPT_CHARS, excerpt

_INT64 = np.iinfo(np.int64)
# The least magnitude that float32 rounds to infinity: its largest finite value plus half an ulp.
_FLOAT32_OVERFLOW = 2.0**128 - 2.0**103
# A value that is missing, until its column's default fills it.
_MISSING = object()


class _Problem(Exception):
    """Why one raw value is not a value of its column (the words of an ingest's reason)."""


class RawColumns:
    """Turns raw column values into `x` as a callback's batches serve it, by the ingest's rules.

    A value is read as a file's field is: `None`, NaN or a str that is one of
    `na_values` (spaces around aside) is missing and takes its column's
    default; a number may be given as a number or as the text a file holds
    (`"2.5"`, `"0x1p3"`); a float32 value must be finite, an int64 one an
    integer (the float `2.0` is one, the text `"2.0"` is not, as in a file);
    a string is kept as given, and with `strings_as="index"` served as its
    id in `vocabularies` (0, unknown, for a string they do not hold). A
    value the ingest would reject raises `BadValueError`, which names it.

    Example:

    >>> vocabularies = {"city": ["[UNK]", "Oslo"]}
    >>> raw = RawColumns(schema, {"area": 0.0}, {"", "NA"}, vocabularies, "index", matrix=False)
    >>> raw.encode({"city": ["Oslo", "Lima"], "area": [20.5, None]})
    {'city': array([1, 0]), 'area': array([20.5,  0. ], dtype=float32)}

    Args:
        schema: the schema in force: its feature columns are encoded.
        defaults: column -> the value that fills a missing value.
        na_values: the spellings of a missing value.
        vocabularies: each string feature's strings (item i is id i, item 0
            `"[UNK]"`), for `strings_as="index"`.
        strings_as: `"string"` or `"index"`, as the callback serves strings.
        matrix: whether `x` is a float32 matrix of the features, else a dict
            of `[rows]` arrays by column.
    """

    def __init__(
        self,
        schema: Schema,
        defaults: Mapping[str, object],
        na_values: frozenset[str],
        vocabularies: Mapping[str, Sequence[str]],
        strings_as: str,
        matrix: bool,
    ):
        self.schema = schema
        self.defaults = dict(defaults)
        self.na_values = frozenset(na_values)
        self.vocabularies = {name: list(strings) for name, strings in vocabularies.items()}
        self.strings_as = strings_as
        self.matrix = matrix
        self._ids = {name: {s: i for i, s in enumerate(v)} for name, v in self.vocabularies.items()}

    @property
    def features(self) -> tuple[str, ...]:
        """The columns of `x`, in its order."""
        return self.schema.features

    def encode(self, rows: Mapping[str, Sequence | np.ndarray]) -> dict[str, np.ndarray] | np.ndarray:
        """`x` for `rows`, a dict of column name -> list or 1-D array of raw values.

        Other columns of `rows` (the labels among them) are ignored, as a
        file's are; a feature column `rows` lacks takes its default.

        Returns:
            A float32 matrix `[rows, features]` if `matrix`, else a dict of
            `[rows]` arrays by column: float32, int64, and for a string
            column int64 ids (`strings_as="index"`) or an object array of str.

        Raises:
            BadValueError: a column is lacking and has no default, the
                columns differ in length, or a value would be rejected by
                the ingest (the message names it: `rows['area'][3]: ...`).
        """
        if not isinstance(rows, Mapping):
            raise TypeError(f"rows must be a dict of column name -> values, got {type(rows).__name__}.")
        features = self.features
        lacking = [name for name in features if name not in rows and name not in self.defaults]
        if lacking:
            them = "it" if len(lacking) == 1 else "them"
            others = [str(name) for name in rows if name not in features]
            raise BadValueError(
                f"rows have no column {listed_names(lacking)}{suggestions(lacking, others)}, "
                f"and no default fills {them}"
            )
        given = {name: _listed(name, rows[name]) for name in features if name in rows}
        if not given:
            raise BadValueError(f"rows have none of the feature columns {listed_names(features)}")
        lengths = {name: len(values) for name, values in given.items()}
        if len(set(lengths.values())) > 1:
            raise BadValueError(f"the columns of rows differ in length: {lengths}")
        count = next(iter(lengths.values()))
        columns = {name: self._column(name, given.get(name, [None] * count)) for name in features}
        if self.matrix:
            return np.stack([columns[name].astype(np.float32) for name in features], axis=1)
        return columns

    def _column(self, name: str, values: list | np.ndarray) -> np.ndarray:
        """One column's values as served, defaults filled in."""
        dtype = self.schema.dtypes[name]
        default = self.defaults.get(name, _MISSING)
        numbers = None if dtype == "string" else _as_numbers(values)
        if numbers is not None:
            return _numbers(name, numbers, dtype, default)
        typed = []
        for i, value in enumerate(values):
            try:
                read = _read(value, dtype, self.na_values)
            except _Problem as problem:
                raise BadValueError(f"rows[{excerpt(name)}][{i}]: {problem}") from None
            if read is _MISSING:
                if default is _MISSING:
                    raise BadValueError(
                        f"rows[{excerpt(name)}][{i}]: missing value {_shown(value)}, "
                        "and the column has no default"
                    )
                read = default
            typed.append(read)
        if dtype == "int64":
            return np.array(typed, np.int64)
        if dtype == "float32":
            return _float32(typed)
        if self.strings_as == "string":
            served = np.empty(len(typed), object)  # Keras takes str only as objects: not numpy's "<U".
            served[:] = typed
            return served
        ids = self._ids.get(name, {})
        return np.array([ids.get(string, 0) for string in typed], np.int64)


def _listed(name: str, values) -> list | np.ndarray:
    """A column of `rows` as a list of Python values, or an array of numbers (read at numpy's speed)."""
    if isinstance(values, list | tuple):
        return list(values)  # As it is: numpy would make ["a", 1] all strings.
    if isinstance(values, str | bytes) or np.ndim(values) != 1:
        raise BadValueError(
            f"rows[{excerpt(name)}] must be a list or a 1-D array of values, got {_shown(values)}"
        )
    array = np.asarray(values)
    return array if array.dtype.kind in "iuf" else array.tolist()


def _as_numbers(values: list | np.ndarray) -> np.ndarray | None:
    """The values as an array, if they are all numbers that numpy holds (not `True`, `None` or text)."""
    if isinstance(values, np.ndarray):
        return values
    if not all(type(value) is int or type(value) is float for value in values):
        return None
    array = np.array(values)
    return array if array.dtype.kind in "iuf" else None  # An int past uint64 makes objects.


def _numbers(name: str, values: np.ndarray, dtype: str, default) -> np.ndarray:
    """An array of numbers as a number column serves it: `_read` value by value, with numpy."""
    missing = np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(values), bool)
    if dtype == "float32":
        with np.errstate(over="ignore", invalid="ignore"):  # Beyond float32 is inf, which is refused.
            served = values.astype(np.float32)
        bad = ~missing & ~np.isfinite(served)
        problem = "expected a finite number, found {} (infinite values are rejected)"
    else:
        exact = values.astype(np.float64) if values.dtype.kind == "f" else None
        if exact is not None:  # Whole floats are integers; 2.0**63 is past int64.
            bad = ~missing & ((exact != np.floor(exact)) | (exact < -(2.0**63)) | (exact >= 2.0**63))
        else:
            bad = values > _INT64.max if values.dtype.kind == "u" else np.zeros(len(values), bool)
        served = np.where(bad | missing, 0, values).astype(np.int64)
        problem = "expected an integer (int64), found {}"
    where = f"rows[{excerpt(name)}]"
    if bad.any():
        i = int(np.argmax(bad))
        raise BadValueError(f"{where}[{i}]: {problem.format(_shown(values[i].item()))}")
    if missing.any():
        if default is _MISSING:
            i = int(np.argmax(missing))
            raise BadValueError(f"{where}[{i}]: missing value nan, and the column has no default")
        served[missing] = default
    return served


def _read(value, dtype: str, na_values: frozenset[str]):
    """A raw value as a value of type `dtype`, or `_MISSING`; a float32's text is kept (see `_float32`)."""
    if isinstance(value, str):
        if value.strip(SPACES) in na_values:
            return _MISSING
        if dtype == "string":
            return value
        problem = value_problem(value, dtype)
        if problem:
            raise _Problem(problem)
        return int(value.strip(SPACES)) if dtype == "int64" else value
    if value is None or _is_nan(value):
        return _MISSING
    if dtype == "string":
        raise _Problem(f"expected a str, found {_shown(value)} ({type(value).__name__})")
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise _Problem(f"expected a number, found {_shown(value)} ({type(value).__name__})")
    if dtype == "float32":
        if not abs(value) < _FLOAT32_OVERFLOW:  # Made inf by float32, which is refused, as in a file.
            raise _Problem(f"expected a finite number, found {_shown(value)} (infinite values are rejected)")
        return float(value)
    whole = isinstance(value, numbers.Integral) or float(value).is_integer()
    if not whole or not _INT64.min <= int(value) <= _INT64.max:
        raise _Problem(f"expected an integer (int64), found {_shown(value)}")
    return int(value)


def _shown(value) -> str:
    """A value as a message quotes it: a str as an excerpt, anything else as its short `repr`."""
    if isinstance(value, str):
        return excerpt(value)
    text = repr(value)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def _is_nan(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and math.isnan(value)


def _float32(values: list) -> np.ndarray:
    """float32 values from numbers and the texts of numbers, each text rounded once, as a file's is."""
    texts = [i for i, value in enumerate(values) if isinstance(value, str)]
    numbers_only = [0.0 if isinstance(value, str) else value for value in values]
    served = np.array(numbers_only, np.float64).astype(np.float32)
    if texts:
        # decode_csv and StringToNumber both parse with `safe_strtof` (TF 2.21): the file's float32s.
        served[texts] = tf.strings.to_number([values[i] for i in texts], tf.float32).numpy()
    return served
