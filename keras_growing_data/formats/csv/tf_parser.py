"""TensorFlow's CSV parser on chunks of lines: one traced `decode_csv` call per chunk."""

import dataclasses
import functools
import re

import tensorflow as tf

from keras_growing_data.formats.number_syntax import FLOAT_PATTERN
from keras_growing_data.utils.printable import excerpt

# No default: a missing value in that column makes the row bad.
NO_DEFAULT = None


@dataclasses.dataclass(frozen=True)
class ChunkPlan:
    """How the fields of one header's lines become stored arrays.

    Args:
        num_fields: the fields every line has (the header's width).
        groups: per stored dtype, its columns in stored order, each as
            `(name, field position or None if the file lacks it, default
            or NO_DEFAULT)`.
        na_values: the spellings of a missing value, compared after
            stripping spaces.
        typed_first: whether a chunk is first decoded with typed fields
            (fast), which is exact only if no missing-value spelling is a
            finite number.
    """

    num_fields: int
    groups: tuple[tuple[str, tuple[tuple[str, int | None, object], ...]], ...]
    na_values: tuple[str, ...]
    typed_first: bool

    @functools.cached_property
    def positions(self) -> tuple[int, ...]:
        """The field positions read, ascending."""
        return tuple(sorted(self._dtypes_at))

    def dtype_at(self, position: int) -> str:
        """The stored dtype of the field at `position`, which is read."""
        return self._dtypes_at[position]

    @functools.cached_property
    def _dtypes_at(self) -> dict[int, str]:
        # Looked up once per field of a header that may have 100,000: a dict, not a search.
        return {p: dtype for dtype, cols in self.groups for _, p, _ in cols if p is not None}


def lines_of(data: bytes) -> bytes:
    """The non-blank lines of a chunk, LF-separated, with no final newline.

    `decode_csv` rejects a trailing CR and an empty record, and filtering
    lines on the TF side copies every string, so this is done on the bytes,
    and only when a chunk holds a CR or a blank line.
    """
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    if b"\n\n" in data or data.startswith(b"\n"):
        data = b"\n".join(line for line in data.split(b"\n") if line)
    return data.removesuffix(b"\n")


@functools.cache
def chunk_parser(plan: ChunkPlan, typed: bool, wide: bool = True):
    """The traced parse function of one plan, shared by every CSV format.

    It returns `(bad, arrays, strings)`: `bad` is true if a value is missing
    without a default, or a float is not finite; `arrays` holds one array per
    stored dtype (a string column as indices into its entry of `strings`,
    each column's distinct strings in the order first seen). A field that
    does not parse as its type raises `InvalidArgumentError`.

    With `typed`, numbers are decoded as numbers by `decode_csv` itself; a
    missing one then fails the chunk, which is parsed again untyped: every
    field as a string, missing values found and filled, then converted.

    With `wide`, float32 columns come as float64 (see `float32_values`:
    what float32 loses is seen there, and the rare values whose float64
    rounds to another float32 are parsed again without `wide`).
    """
    read = set(plan.positions)
    na = tf.constant(sorted(plan.na_values))

    def number_dtype(dtype):
        return tf.float64 if wide and dtype == "float32" else getattr(tf, dtype)

    def record_default(position):
        if typed and position in read and plan.dtype_at(position) != "string":
            return tf.constant([], number_dtype(plan.dtype_at(position)))  # Required: an empty field fails.
        return tf.constant([""])

    def is_missing(text):
        return _is_missing(text, na)

    def decode(lines, quoted):
        # Every field is decoded, the ignored ones as strings: with
        # `select_cols`, decode_csv does not check a line's width (TF 2.21).
        fields = tf.io.decode_csv(
            lines, [record_default(p) for p in range(plan.num_fields)], use_quote_delim=quoted
        )
        rows = tf.shape(lines)[0]
        bad = tf.constant(False)
        arrays, strings = [], []
        for dtype, columns in plan.groups:
            parts = []
            for _, position, default in columns:
                if position is None:
                    value = tf.fill(
                        [rows], tf.constant(default, number_dtype(dtype) if dtype != "string" else tf.string)
                    )
                elif dtype == "string":
                    value = fields[position]
                else:
                    value, column_bad = _number_column(
                        fields[position], number_dtype(dtype), default, typed, is_missing
                    )
                    bad = tf.logical_or(bad, column_bad)
                if dtype == "string":
                    distinct, value = tf.unique(value, out_idx=tf.int32)
                    if position is not None:
                        # Only the distinct strings are looked at: a few, in a low-cardinality column.
                        missing = is_missing(distinct)
                        if default is NO_DEFAULT:
                            bad = tf.logical_or(bad, tf.reduce_any(missing))
                        else:
                            # Two strings may now be equal; the reader merges equal ones.
                            distinct = tf.where(missing, default, distinct)
                    strings.append(distinct)
                parts.append(value)
            arrays.append(tf.stack(parts, axis=1))
        return bad, tuple(arrays), tuple(strings)

    return _on_chunks(decode)


@functools.cache
def numeric_fields(num_fields: int, na_values: tuple[str, ...]):
    """The traced function that says, per field, whether a chunk's values are all missing or numbers."""
    na = tf.constant(sorted(na_values))

    def decode(lines, quoted):
        fields = tf.io.decode_csv(lines, [tf.constant([""])] * num_fields, use_quote_delim=quoted)
        numeric = []
        for field in fields:
            distinct, _ = tf.unique(field)
            # Only the distinct values that are not numbers are compared with the missing spellings.
            others = tf.boolean_mask(
                distinct, tf.logical_not(tf.strings.regex_full_match(distinct, FLOAT_PATTERN))
            )
            numeric.append(tf.reduce_all(_is_missing(others, na)))
        return tf.stack(numeric)

    return _on_chunks(decode)


def _on_chunks(decode):
    """`decode(lines, quoted)` as one traced function of a chunk and whether it holds a quote."""

    @tf.function(
        input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.bool)],
        autograph=False,
    )
    def on_chunk(chunk, quoted):
        lines = tf.strings.split(chunk, "\n")
        # Quote handling halves decode_csv's speed (measured, TF 2.21), so it
        # is only switched on for chunks that hold a quote character.
        return tf.cond(quoted, lambda: decode(lines, True), lambda: decode(lines, False))

    return on_chunk


def _is_missing(text, na):
    """Whether each string, without the spaces around it, is one of the missing-value spellings `na`."""
    return tf.reduce_any(tf.equal(tf.expand_dims(tf.strings.strip(text), 1), na), axis=1)


def _number_column(field, dtype: tf.DType, default, typed: bool, is_missing):
    """A decoded number column in `dtype`, with its missing values filled; and whether it is bad.

    A float must be finite as a float32: a float64 beyond float32's range is bad too.
    """
    if typed:
        value, missing = field, tf.zeros_like(field, tf.bool)
    else:
        missing = is_missing(field)
        value = tf.strings.to_number(tf.where(missing, "0", field), dtype)
        if default is not NO_DEFAULT:
            value = tf.where(missing, tf.constant(default, dtype), value)
    bad = tf.reduce_any(missing) if default is NO_DEFAULT else tf.constant(False)
    if dtype.is_floating:
        finite = tf.math.is_finite(tf.cast(value, tf.float32))
        not_finite = tf.logical_not(tf.logical_or(missing, finite))
        bad = tf.logical_or(bad, tf.reduce_any(not_finite))
    return value, bad


def tf_message(error: Exception) -> str:
    """The words of TensorFlow's parse error a person can act on, without graph-execution noise."""
    if not isinstance(error, tf.errors.OpError):
        return str(error)
    message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", error.message)
    # In graph mode the first line is "Graph execution error:"; the op's own
    # words (`Field 1 in record 0 is not a valid float: 1_000`) come later.
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    said = [line for line in lines if re.match(r"(Field|Expect|Unquoted|Quoted|StringToNumber)\b", line)]
    if not said:
        return excerpt((lines or [message])[0])
    # TF's words, then what it quotes of the file, if anything, after the first ": ".
    words, colon, quoted = said[0].partition(": ")
    # float32 columns are decoded as float64 (see `chunk_parser`): to the user they are floats.
    words = words.replace("not a valid double", "not a valid float")
    return f"{words}: {excerpt(quoted)}" if colon else words
