"""Parses one CSV file into a float32 matrix of rows."""

import collections
import concurrent.futures
import csv
import ctypes
import ctypes.util
import dataclasses
import difflib
import functools
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import tensorflow as tf

from keras_growing_data.arguments import check_choice, check_int, check_labels
from keras_growing_data.fast_csv import load_pandas, parse_plain_chunk

UTF8_BOM = b"\xef\xbb\xbf"

# What each kind of compressed file starts with. bzip2's magic number is
# ASCII, so its first block's (or an empty stream's) marker must follow, lest
# a header that happens to start with "BZh" be taken for it.
COMPRESSION_MAGIC = {
    "gzip": re.compile(rb"\x1f\x8b"),
    "bzip2": re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)"),
    "xz": re.compile(rb"\xfd7zXZ\x00"),
    "zstd": re.compile(rb"\x28\xb5\x2f\xfd"),
    "zip": re.compile(rb"PK\x03\x04"),
}

# How many items of a kind a reason lists before "and N more".
LISTED = 5
# How many of its names a reason lists when it shows a header.
LISTED_COLUMNS = 8


class BadFileError(ValueError):
    """A file that cannot be ingested; the message says why."""


@dataclasses.dataclass(frozen=True)
class BadRow:
    """A line left out of a file read with `skip_bad_rows`, and why."""

    line: int
    reason: str


@dataclasses.dataclass(frozen=True)
class ParsedFile:
    """A parsed file: its header, its rows (features first, then labels)."""

    columns: tuple[str, ...]
    rows: tf.Tensor
    size: int
    skipped: tuple[BadRow, ...] = ()


class CsvReader:
    """Parses whole CSV files into `[rows, columns]` float32 tensors.

    The file is read through `tf.io.gfile` in chunks of whole lines, and each
    chunk is parsed by one call of a traced TensorFlow function that runs
    `tf.io.decode_csv` on all its lines at once, chunks in parallel threads
    (TF releases the GIL). Parsing lines one by one through `tf.data` costs
    about 3 us a line; a chunk costs one call. (A `tf.data` pipeline per file
    was measured too, TF 2.21: building it retraces its map function, about
    80 ms, which dwarfs a small file.) Output columns are reordered: features
    in header order, then the labels in the order they were named.

    Where pandas is installed, chunks of plain numbers (digits, signs, points,
    exponents, commas, spaces) are parsed by its C parser instead, about twice
    as fast as `decode_csv` (TF 2.21, pandas 3.1), with the same values and the
    same rows accepted; any other chunk, and any chunk pandas refuses, goes to
    TensorFlow, which judges it and names the bad line.

    Every value must be a finite number. A file that breaks a rule raises
    `BadFileError` naming the line and column, and yields no rows at all.

    Example:

    >>> reader = CsvReader(label="price")
    >>> parsed = reader.read("incoming/part-0001.csv")
    >>> parsed.rows.shape  # (rows, features + 1)

    Args:
        label: the label column's name, a list of names, or `None`.
        chunk_bytes: size of the chunks parsed in parallel.
        max_line_bytes: longest line accepted; a longer one rejects the file.
        parser: `"auto"` (pandas for plain chunks where it is installed,
            TensorFlow for the rest), `"pandas"` (the same, but pandas must
            be installed) or `"tensorflow"` (TensorFlow only).
    """

    def __init__(
        self,
        label: str | Sequence[str] | None,
        chunk_bytes: int = 1 << 21,
        max_line_bytes: int = 1 << 20,
        parser: str = "auto",
    ):
        check_choice("parser", parser, ("auto", "pandas", "tensorflow"))
        self.labels = check_labels(label)
        self.chunk_bytes = check_int("chunk_bytes", chunk_bytes, minimum=1)
        self.max_line_bytes = check_int("max_line_bytes", max_line_bytes, minimum=1)
        self._pandas = load_pandas() if parser != "tensorflow" else None
        if parser == "pandas" and self._pandas is None:
            raise ImportError('parser="pandas" needs pandas: pip install "keras-growing-data[fast]"')
        self._workers = os.cpu_count() or 1
        self._pool = concurrent.futures.ThreadPoolExecutor(self._workers, thread_name_prefix="csv-parse")

    def column_order(self, columns: Sequence[str]) -> list[int]:
        """Indices of the file's columns, features first and labels last."""
        features = [i for i, name in enumerate(columns) if name not in self.labels]
        return features + [columns.index(name) for name in self.labels]

    def read(
        self, path: str, columns: Sequence[str] | None = None, skip_bad_rows: bool = False
    ) -> ParsedFile:
        """Parses the file at `path`.

        Args:
            path: the file to read.
            columns: the header every file must have, once one was accepted.
            skip_bad_rows: leave out the lines that do not parse (listed in
                `ParsedFile.skipped`) instead of rejecting the file.

        Raises:
            BadFileError: the file is empty, its header does not fit, or a
                line does not parse (and `skip_bad_rows` is off).
        """
        try:
            with tf.io.gfile.GFile(path, "rb") as f:
                return self._read(f, columns, skip_bad_rows)
        except tf.errors.OpError as e:
            raise BadFileError(f"cannot be read: {e.message}") from None

    def _read(self, f, expected: Sequence[str] | None, skip_bad_rows: bool) -> ParsedFile:
        blocks = self._blocks(f)
        head = next(blocks, b"")
        if not head:
            raise BadFileError("the file is empty")
        compression = compression_of(head)
        if compression is not None:
            raise BadFileError(
                f"looks {compression}-compressed (its first bytes are {compression}'s magic number); "
                "compressed files are not read yet: decompress it, or match only plain files with the pattern"
            )
        chunks = self._line_chunks(itertools.chain([head], blocks))
        try:
            first = next(chunks)
        except _LineTooLong:
            raise self._too_long("line 1 (the header)") from None
        header, _, body = first.partition(b"\n")
        columns = self._header(header, expected)
        rows = _FileRows(columns, self._parser(tuple(columns)), skip_bad_rows)
        size = len(first) - len(body)
        pending = collections.deque()
        # Chunks go to the pool as they are read, at most two per thread
        # ahead, so reading overlaps parsing and memory stays bounded.
        try:
            for data in itertools.chain([body], chunks):
                size += len(data)
                pending.append((data, self._pool.submit(rows.parse, data)))
                if len(pending) > 2 * self._workers:
                    rows.take(*pending.popleft())
        except _LineTooLong:
            # Workers count the lines; the ones before say which line it is.
            while pending:
                rows.take(*pending.popleft())
            raise self._too_long(f"line {rows.line}") from None
        while pending:
            rows.take(*pending.popleft())
        return ParsedFile(tuple(columns), rows.stacked(), size, tuple(rows.skipped))

    def _too_long(self, line: str) -> BadFileError:
        """The error for a line longer than `max_line_bytes`."""
        return BadFileError(
            f"{line} is longer than the maximum of {self.max_line_bytes} bytes (max_line_bytes)"
        )

    def _blocks(self, f) -> Iterator[bytes]:
        """Yields the file's bytes in reads no longer than the longest line allowed."""
        return iter(functools.partial(f.read, min(self.chunk_bytes, self.max_line_bytes)), b"")

    def _line_chunks(self, blocks: Iterable[bytes]) -> Iterator[bytes]:
        """Yields chunks of whole lines; raises `_LineTooLong` for a long line."""
        carry = b""
        # No block is longer than the longest line allowed, so only a line
        # that spans blocks (the carry and what follows it) can be too long.
        for block in blocks:
            data = carry + block
            first_end = data.find(b"\n")
            if carry and (first_end if first_end >= 0 else len(data)) > self.max_line_bytes:
                raise _LineTooLong
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
            else:
                chunk, carry = data[:cut], data[cut:]
                yield chunk
        if carry:
            yield carry

    def _header(self, raw: bytes, expected: Sequence[str] | None) -> list[str]:
        raw = raw.removeprefix(UTF8_BOM).rstrip(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadFileError("line 1 (the header) is not valid UTF-8") from None
        try:
            columns = [name.strip() for name in next(csv.reader([text], skipinitialspace=True), [])]
        except csv.Error as e:
            raise BadFileError(f"line 1 (the header) is not CSV: {e}") from None
        if not columns:
            raise BadFileError("line 1 (the header) is blank")
        empty = [str(i + 1) for i, name in enumerate(columns) if not name]
        if len(empty) == 1:
            raise BadFileError(f"line 1 (the header) has an empty column name (column {empty[0]})")
        if empty:
            raise BadFileError(f"line 1 (the header) has empty column names (columns {_listed(empty)})")
        duplicates = [name for name, count in collections.Counter(columns).items() if count > 1]
        if duplicates:
            raise BadFileError(
                f"the header repeats column names {duplicates[:LISTED]}{_and_more(duplicates)}"
            )
        missing = [name for name in self.labels if name not in columns]
        if missing:
            features = [name for name in columns if name not in self.labels]
            raise BadFileError(
                f"the header has no label column {missing}{_suggestions(missing, features)}; "
                f"it has {_header_names(columns)}"
            )
        if len(columns) == len(self.labels):
            raise BadFileError("the header has no feature column besides the labels")
        if expected is not None and tuple(columns) != tuple(expected):
            raise BadFileError(
                "the header differs from the schema set by the first accepted file: "
                + header_difference(expected, columns)
            )
        return columns

    def _parser(self, columns: tuple[str, ...]):
        order = tuple(self.column_order(columns))
        return functools.partial(_parse_chunk, _chunk_parser(len(columns), order), self._pandas, order)


class _LineTooLong(Exception):
    """A line longer than `max_line_bytes`, found while reading."""


@dataclasses.dataclass
class _FileRows:
    """The rows of one file's chunks, taken in file order, and its bad lines."""

    columns: list[str]
    parse: Callable[[bytes], tuple[tf.Tensor | str | None, int]]
    skip_bad_rows: bool
    parts: list[tf.Tensor] = dataclasses.field(default_factory=list)
    skipped: list[BadRow] = dataclasses.field(default_factory=list)
    line: int = 2  # The number of the next chunk's first line.

    def take(self, data: bytes, future: concurrent.futures.Future) -> None:
        """Takes one parsed chunk; handles its bad lines.

        A chunk that fails is looked at again line by line in Python, only
        then: to name the first bad line, or, with `skip_bad_rows`, to
        parse its good lines alone and list the bad ones in `skipped`.
        """
        result, newlines = future.result()
        line, self.line = self.line, self.line + newlines
        if result is None:
            return  # Blank lines only.
        if isinstance(result, tf.Tensor):
            self.parts.append(result)
            return
        if not self.skip_bad_rows:
            diagnose(line, data, self.columns)
            raise BadFileError(f"does not parse: {result}")
        good = []
        for number, raw, reason in line_problems(line, data, self.columns):
            if reason is None:
                good.append(raw)
            else:
                self.skipped.append(BadRow(number, reason))
        if good:
            rows, _ = self.parse(b"\n".join(good))
            if not isinstance(rows, tf.Tensor):
                raise BadFileError(f"does not parse: {rows}")
            self.parts.append(rows)

    def stacked(self) -> tf.Tensor:
        """All rows taken, as one tensor."""
        if not self.parts:
            if self.skipped:
                first = self.skipped[0]
                raise BadFileError(f"every data row is bad; the first: line {first.line}: {first.reason}")
            raise BadFileError("the file has a header but no data rows")
        return tf.concat(self.parts, axis=0) if len(self.parts) > 1 else self.parts[0]


def release_parse_memory() -> None:
    """Returns the memory freed after parsing to the operating system.

    Parsing in several threads leaves its freed buffers in glibc's
    per-thread arenas, which keep them: measured here (TF 2.21, 2 threads),
    96 MiB of parsed rows left 152 MiB resident until `malloc_trim`, 95 MiB
    after. A no-op where the C library has no `malloc_trim`.
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


_LIBC = _load_libc()


def compression_of(head: bytes) -> str | None:
    """The compression format a file's first bytes show, or `None` for none."""
    for name, magic in COMPRESSION_MAGIC.items():
        if magic.match(head):
            return name
    return None


def header_difference(expected: Sequence[str], found: Sequence[str]) -> str:
    """What sets the header `found` apart from `expected`, by 1-based column number.

    A column number that holds, in the schema, a name the file lacks and, in
    the file, a name the schema lacks is a renamed column; other names in only
    one of them are missing or extra. Names in both but in another order are
    named as moved. At most `LISTED` items of each kind are named, however
    wide the headers.

    Example:

    >>> header_difference(["a", "b", "price"], ["b", "a", "Price"])
    "column 3 is 'Price' where the schema has 'price'; 'a' is column 2 (the schema has it at 1)"
    """
    schema_at = {name: i for i, name in enumerate(expected)}
    file_at = {name: i for i, name in enumerate(found)}
    shared = range(min(len(expected), len(found)))
    renamed = [i for i in shared if found[i] not in schema_at and expected[i] not in file_at]
    paired = set(renamed)
    missing = [i for i, name in enumerate(expected) if name not in file_at and i not in paired]
    extra = [i for i, name in enumerate(found) if name not in schema_at and i not in paired]
    # Names in both headers whose order differs; a column missing or added
    # shifts those after it, but does not reorder them.
    in_schema_order = [name for name in expected if name in file_at]
    in_file_order = [name for name in found if name in schema_at]
    moved = [file_at[b] for a, b in zip(in_schema_order, in_file_order, strict=True) if a != b]
    renames = [f"column {i + 1} is {found[i]!r} where the schema has {expected[i]!r}" for i in renamed]
    lacks = [f"{expected[i]!r} (schema column {i + 1})" for i in missing]
    adds = [f"{found[i]!r} (column {i + 1})" for i in extra]
    moves = [
        f"{found[i]!r} is column {i + 1} (the schema has it at {schema_at[found[i]] + 1})" for i in moved
    ]
    parts = [
        _listed(renames, what=" renamed"),
        _listed(lacks, lead="missing "),
        _listed(adds, lead="extra "),
        _listed(moves, what=" moved"),
    ]
    return "; ".join(part for part in parts if part)


def _suggestions(missing: Sequence[str], names: Sequence[str]) -> str:
    """' (did you mean ...?)' naming the closest of `names` to each missing one."""
    close = {name: closest_name(name, names) for name in missing}
    found = {name: match for name, match in close.items() if match is not None}
    if not found:
        return ""
    if len(missing) == 1:
        return f" (did you mean {found[missing[0]]!r}?)"
    return " (did you mean " + ", ".join(f"{match!r} for {name!r}" for name, match in found.items()) + "?)"


def closest_name(name: str, names: Sequence[str]) -> str | None:
    """The one of `names` that `name` was most likely meant to be, or `None`.

    The same name in another case comes first, then `difflib`'s closest.
    """
    folded = name.casefold()
    for candidate in names:
        if candidate.casefold() == folded:
            return candidate
    close = difflib.get_close_matches(name, names, n=1)
    return close[0] if close else None


def _header_names(columns: Sequence[str]) -> str:
    """A header's names for a reason: its first few, and its width if wide."""
    if len(columns) <= LISTED_COLUMNS:
        return str(list(columns))
    return f"{list(columns[:LISTED_COLUMNS])} ... ({len(columns)} columns)"


def _listed(items: Sequence[str], lead: str = "", what: str = "") -> str:
    """`lead`, the first `LISTED` items, then how many more `what`; '' for none."""
    if not items:
        return ""
    return lead + ", ".join(items[:LISTED]) + _and_more(items, what)


def _and_more(items: Sequence, what: str = "") -> str:
    """' and N more' for the items past the first `LISTED`, or ''."""
    return f" and {len(items) - LISTED} more{what}" if len(items) > LISTED else ""


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
def _chunk_parser(num_columns: int, order: tuple[int, ...]):
    """The traced parse function of one schema, shared by every reader."""
    defaults = [tf.constant([], tf.float32)] * num_columns

    def decode(lines, quoted):
        columns = tf.io.decode_csv(lines, defaults, use_quote_delim=quoted)
        return tf.stack([columns[i] for i in order], axis=1)

    @tf.function(
        input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.bool)],
        autograph=False,
    )
    def parse(chunk, quoted):
        lines = tf.strings.split(chunk, "\n")
        # Quote handling halves decode_csv's speed (measured, TF 2.21), so it
        # is only switched on for chunks that hold a quote character.
        rows = tf.cond(quoted, lambda: decode(lines, True), lambda: decode(lines, False))
        return rows, tf.reduce_all(tf.math.is_finite(rows))

    return parse


def _parse_chunk(decode, pandas, order: tuple[int, ...], data: bytes) -> tuple[tf.Tensor | str | None, int]:
    """A chunk's rows (why it failed, or None: blank lines only), and its newlines.

    Counting the newlines (to number the lines of later chunks) costs as much
    as a tenth of pandas' parse; where pandas parsed the chunk, every line was
    a row, so its rows count them.
    """
    if pandas is not None:
        rows = parse_plain_chunk(pandas, data, len(order))
        if rows is not None:
            newlines = len(rows) - (not data.endswith(b"\n"))
            return tf.constant(np.ascontiguousarray(rows[:, list(order)])), newlines
    newlines = data.count(b"\n")
    lines = lines_of(data)
    if not lines:
        return None, newlines
    try:
        rows, finite = decode(lines, b'"' in lines)
    except (tf.errors.InvalidArgumentError, UnicodeDecodeError) as e:
        # TF fails to decode its own error message when it quotes bytes that
        # are not UTF-8, hence UnicodeDecodeError.
        return _tf_message(e), newlines
    return (rows if finite else "a value is NaN or infinite"), newlines


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


def _tf_message(error: Exception) -> str:
    if not isinstance(error, tf.errors.OpError):
        return str(error)
    message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", error.message)
    # In graph mode the first line is "Graph execution error:"; the op's own
    # words (`Field 1 in record 0 is not a valid float: 1_000`) come later.
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    said = [line for line in lines if re.match(r"(Field|Expect|Unquoted|Quoted)\b", line)]
    return (said or lines or [message])[0]
