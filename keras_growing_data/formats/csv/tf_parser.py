"""TensorFlow's CSV parser on chunks of lines: one traced function per plan, whose ops never fail.

A failed op in a traced function makes TensorFlow's C++ runtime log a
warning to stderr (TF 2.21, `local_rendezvous.cc`: "Local rendezvous is
aborting with status: INVALID_ARGUMENT: Field 3 is required but missing in
record 6!"), which `TF_CPP_MIN_LOG_LEVEL` set after TensorFlow loaded does not
hide. So no op here fails on a file's content: `decode_csv` gets only chunks
whose lines have the header's width (`line_widths.fields_fit`), typed fields
only where a pattern says they all read as their type, and `to_number`
only text its pattern says it converts.
"""

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable

import tensorflow as tf

from keras_growing_data.formats.number_syntax import field_pattern
from keras_growing_data.utils.printable import excerpt

# No default: a missing value in that column makes the row bad.
NO_DEFAULT = None
# The widest header whose lines are matched field by field before a typed decode. RE2 (TF 2.21)
# matches a 4 MB chunk in about 10 ms up to 100 fields; at 200 its DFA runs out of memory, logs
# that to stderr, and takes 60 times as long.
TYPED_FIELDS = 64
# A field of any type, as decode_csv splits it with quote handling on.
_ANY_FIELD = r'(?:[^",\n]*|"(?:[^"\n]|"")*")'


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
        numbers_are_values: whether no missing-value spelling reads as a
            finite number, so that a field that reads as one is a value:
            chunks of such fields are decoded typed, at once (fast).
    """

    num_fields: int
    groups: tuple[tuple[str, tuple[tuple[str, int | None, object], ...]], ...]
    na_values: tuple[str, ...]
    numbers_are_values: bool

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
    """The non-blank lines of a chunk (LF line ends, see `line_chunks`), with no final newline.

    `decode_csv` rejects an empty record, and filtering lines on the TF side
    copies every string, so this is done on the bytes, and only when a chunk
    holds a blank line.
    """
    if b"\n\n" in data or data.startswith(b"\n"):
        data = b"\n".join(line for line in data.split(b"\n") if line)
    return data.removesuffix(b"\n")


@functools.cache
def chunk_parser(
    plan: ChunkPlan, quoted: bool, typed: bool, wide: bool = True
) -> tf.types.experimental.ConcreteFunction:
    """The traced parse function of one plan, for chunks with quotes or without, shared by every CSV format.

    Called with a chunk's lines (`lines_of`), each of `plan.num_fields`
    fields (`fields_fit`). It returns `(bad, arrays, strings)`: `bad` is
    true if a value is not of its column's type, is missing without a
    default, or is a float that is not finite; `arrays` holds one array per
    stored dtype (a string column as indices into its entry of `strings`,
    each column's distinct strings in the order first seen). Quote handling
    (`quoted`) halves decode_csv's speed (measured, TF 2.21), so it is only
    switched on for chunks that hold a quote character.

    With `typed`, for chunks whose number fields all read as numbers or
    are empty (`decodes_typed`), fields are decoded typed, as fast as
    decode_csv goes; else (missing-value spellings, bad values) as strings,
    each then matched, so that nothing fails. The number columns of a dtype
    are converted as one matrix, so the graph, and the time to trace and
    optimize it, does not grow with them.

    With `wide`, float32 columns come as float64 (see `float32_values`:
    what float32 loses is seen there, and the rare values whose float64
    rounds to another float32 are parsed again without `wide`).
    """
    is_missing = _missing_test(plan.na_values)

    def float_dtype(dtype: str) -> tf.DType:
        return tf.float64 if wide and dtype == "float32" else getattr(tf, dtype)

    def decode(lines):
        defaults = [tf.constant([""])] * plan.num_fields
        if typed:
            for dtype, columns in plan.groups:
                for _, position, _ in columns:
                    if position is not None and dtype == "float32":
                        defaults[position] = tf.constant([float("nan")], float_dtype(dtype))  # Empty: NaN.
                    elif position is not None and dtype == "int64":
                        defaults[position] = tf.constant([], tf.int64)  # Never empty: see `_typed_pattern`.
        fields = tf.io.decode_csv(lines, defaults, use_quote_delim=quoted)
        rows = tf.shape(lines)[0]
        bad = tf.constant(False)
        arrays, strings = [], []
        for dtype, columns in plan.groups:
            if dtype != "string":
                numbers = _typed_numbers if typed else _numbers_from_text
                values, group_bad = numbers(fields, rows, columns, dtype, float_dtype(dtype), is_missing)
                bad = tf.logical_or(bad, group_bad)
                arrays.append(values)
                continue
            parts = []
            for _, position, default in columns:
                value = tf.fill([rows], default) if position is None else fields[position]
                distinct, ids = tf.unique(value, out_idx=tf.int32)
                if position is not None:
                    # Only the distinct strings are looked at: a few, in a low-cardinality column.
                    missing = is_missing(distinct)
                    if default is NO_DEFAULT:
                        bad = tf.logical_or(bad, tf.reduce_any(missing))
                    else:
                        # Two strings may now be equal; the reader merges equal ones.
                        distinct = tf.where(missing, default, distinct)
                strings.append(distinct)
                parts.append(ids)
            arrays.append(tf.stack(parts, axis=1))
        return bad, tuple(arrays), tuple(strings)

    return _traced(lambda chunk: decode(tf.strings.split(chunk, "\n")))


def decodes_typed(plan: ChunkPlan, lines: bytes) -> bool:
    """Whether a chunk's lines (`lines_of`) decode typed, for `chunk_parser`.

    Their number fields all read as numbers with digits, or are empty (one
    match of the whole chunk against a pattern of the plan's fields, about
    10 ms for 4 MB, a tenth of the decode). With at most `TYPED_FIELDS`
    fields, a chunk that does also has the header's width (`fields_fit`).
    """
    pattern = _typed_pattern(plan)
    return pattern is not None and bool(_full_match(pattern)(lines))


@functools.cache
def _full_match(pattern: str) -> tf.types.experimental.ConcreteFunction:
    """The traced function that says whether a chunk matches `pattern` whole."""
    return _traced(lambda chunk: tf.strings.regex_full_match(chunk, pattern))


@functools.cache
def numeric_fields(
    num_fields: int, na_values: tuple[str, ...], quoted: bool
) -> tf.types.experimental.ConcreteFunction:
    """The traced function that says, per field, whether a chunk's values are all missing or numbers.

    Called as `chunk_parser`'s function is, on lines that fit (`fields_fit`).
    """
    value = f"(?:{field_pattern('float32')}|{_missing_pattern(na_values)})"

    def parse(chunk):
        fields = tf.io.decode_csv(
            tf.strings.split(chunk, "\n"), [tf.constant([""])] * num_fields, use_quote_delim=quoted
        )
        columns = tf.strings.reduce_join(tf.stack(fields, axis=1), axis=0, separator="\n")
        return tf.strings.regex_full_match(columns, f"(?:{value}\n)*{value}")

    return _traced(parse)


def _traced(parse) -> tf.types.experimental.ConcreteFunction:
    """`parse(chunk)` as a function of a chunk, traced once, now.

    TensorFlow counts the calls that trace by the traced Python function's
    code, which every plan's function shares, and warns of "retracing" after
    five in ten (TF 2.21, `polymorphic_function.py`,
    `_FrequentTracingDetector`); a concrete function is called without that
    count, and a file with a new header is a new plan, not a retrace.
    """
    return tf.function(
        parse, input_signature=[tf.TensorSpec([], tf.string)], autograph=False
    ).get_concrete_function()


@functools.cache
def _typed_pattern(plan: ChunkPlan) -> str | None:
    """What a chunk's lines, joined by LF, match only if decode_csv decodes their number fields typed.

    A float32 field is a number spelled with digits (no NaN or infinity
    spelled out, which a missing-value spelling may be) or empty, which
    decodes as NaN; an int64 one an integer of at most 18 digits (never
    beyond int64). `None`: no typed decode for this plan (no number column,
    a missing-value spelling that reads as a number, or more than
    `TYPED_FIELDS` fields of several kinds: the pattern grows with them).
    """
    kinds = {
        "float32": f"(?:{field_pattern('float32', spelled_out=False)})?",
        "int64": r"[ \t\v\f\r]*[+-]?0*[0-9]{1,18}[ \t\v\f\r]*",
    }
    read = {position: plan.dtype_at(position) for position in plan.positions}
    fields = [kinds.get(read.get(position), _ANY_FIELD) for position in range(plan.num_fields)]
    if not plan.numbers_are_values or all(field == _ANY_FIELD for field in fields):
        return None
    if plan.num_fields <= TYPED_FIELDS:
        line = ",".join(fields)
    elif len(set(fields)) == 1:
        line = f"{fields[0]}(?:,{fields[0]})*"  # The width is `fields_fit`'s to check.
    else:
        return None
    return f"(?:{line}\n)*{line}"


def _missing_pattern(na_values: Iterable[str]) -> str:
    """An RE2 pattern of a field that, without the spaces around it, is one of `na_values`."""
    spellings = "|".join(_literal(value) for value in sorted(na_values))
    return rf"[ \t\v\f\r]*(?:{spellings})[ \t\v\f\r]*"


def _missing_test(na_values: Iterable[str]) -> Callable[[tf.Tensor], tf.Tensor]:
    """A function of strings (a field each, so no newline): whether each is one of `na_values`."""
    pattern = _missing_pattern(na_values)
    return lambda text: tf.strings.regex_full_match(text, pattern)


def _literal(text: str) -> str:
    """`text` as an RE2 pattern that matches it alone: ASCII other than letters and digits as `\\x{..}`."""
    return "".join(c if c.isalnum() or not c.isascii() else f"\\x{{{ord(c):02x}}}" for c in text)


def _typed_numbers(fields, rows, columns, dtype: str, tf_dtype: tf.DType, is_missing):
    """The number columns of one stored dtype, decoded typed, as a `[rows, columns]` matrix; whether bad."""
    read = [(position, default) for _, position, default in columns if position is not None]
    value = tf.stack([fields[position] for position, _ in read], axis=1) if read else None
    missing = tf.math.is_nan(value) if read and tf_dtype.is_floating else None
    return _filled(value, missing, tf.constant(False), rows, columns, tf_dtype)


def _numbers_from_text(fields, rows, columns, dtype: str, tf_dtype: tf.DType, is_missing):
    """The number columns of one stored dtype, from their text, as a `[rows, columns]` matrix; whether bad.

    Where every field is a number spelled with digits or empty (one match
    of each column's fields joined), only the empty ones are missing and all
    convert; else each field is matched.
    """
    read = [position for _, position, _ in columns if position is not None]
    if not read:
        return _filled(None, None, tf.constant(False), rows, columns, tf_dtype)
    text = tf.stack([fields[position] for position in read], axis=1)

    def plain():
        missing = tf.equal(text, "")
        return missing, tf.strings.to_number(tf.where(missing, "0", text), tf_dtype), tf.constant(False)

    def checked():
        missing = is_missing(text)
        number = tf.strings.regex_full_match(text, field_pattern(dtype))
        value = tf.strings.to_number(tf.where(number, text, "0"), tf_dtype)
        return missing, value, tf.reduce_any(tf.logical_not(tf.logical_or(missing, number)))

    digits = field_pattern(dtype, spelled_out=False)
    joined = tf.strings.reduce_join(text, axis=0, separator="\n")
    all_plain = tf.reduce_all(tf.strings.regex_full_match(joined, f"(?:(?:{digits})?\n)*(?:{digits})?"))
    missing, value, not_numbers = tf.cond(all_plain, plain, checked)
    return _filled(value, missing, not_numbers, rows, columns, tf_dtype)


def _filled(value, missing, bad, rows, columns, tf_dtype: tf.DType):
    """The read columns' `value` with their `missing` values filled, and the columns the file lacks.

    `value` and `missing` are `[rows, read columns]` (`None`: none read, or
    nothing missing); `bad` says whether a value was not a number. A missing
    value without a default is bad, and so is a float not finite as a
    float32 (a float64 beyond float32's range too).
    """
    read = [default for _, position, default in columns if position is not None]
    lacking = [default for _, position, default in columns if position is None]
    if read:
        if missing is not None:
            has_default = tf.constant([default is not NO_DEFAULT for default in read])
            defaults = tf.constant([0 if default is NO_DEFAULT else default for default in read], tf_dtype)
            value = tf.where(tf.logical_and(missing, has_default), defaults, value)
            bad = tf.logical_or(bad, tf.reduce_any(tf.logical_and(missing, tf.logical_not(has_default))))
        if tf_dtype.is_floating:
            finite = tf.math.is_finite(tf.cast(value, tf.float32))
            not_finite = tf.logical_not(finite if missing is None else tf.logical_or(missing, finite))
            bad = tf.logical_or(bad, tf.reduce_any(not_finite))
    if not lacking:
        return value, bad
    filled = tf.tile(tf.constant([lacking], tf_dtype), [rows, 1])
    if not read:
        return filled, bad
    # The columns the file lacks go after the read ones, then all are put back in stored order.
    read_at, lacking_at = iter(range(len(read))), iter(range(len(read), len(columns)))
    order = [next(lacking_at) if position is None else next(read_at) for _, position, _ in columns]
    return tf.gather(tf.concat([value, filled], axis=1), order, axis=1), bad


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
