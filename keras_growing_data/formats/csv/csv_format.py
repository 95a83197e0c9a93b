"""Reads one CSV file into typed columns, in parallel chunks of whole lines."""

import collections
import concurrent.futures
import contextlib
import dataclasses
import functools
import itertools
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import tensorflow as tf

from keras_growing_data.formats.csv.header import match_header, parse_header, require_labels
from keras_growing_data.formats.csv.line_checks import diagnose, good_lines, line_problems, parses_as_number
from keras_growing_data.formats.csv.pandas_parser import load_pandas, parse_chunk_with_pandas, takes_plan
from keras_growing_data.formats.csv.tf_parser import (
    NO_DEFAULT,
    ChunkPlan,
    chunk_parser,
    lines_of,
    numeric_fields,
    tf_message,
)
from keras_growing_data.formats.decompressed import content_of
from keras_growing_data.formats.float32_values import float32_losses, loss_notes, needs_direct_parse
from keras_growing_data.formats.partitions import fill_partition, placeholders, typed_partition
from keras_growing_data.formats.schema import SPACES, Schema, check_columns, check_defaults, check_na_values
from keras_growing_data.sources.records import (
    BadFileError,
    BadRow,
    NoDataRowsError,
    UnreadableFileError,
    VanishedFileError,
)
from keras_growing_data.utils.aligned_arrays import aligned_empty
from keras_growing_data.utils.arguments import check_choice, check_int, check_labels
from keras_growing_data.utils.process_memory import release_parse_memory

# Memory a file's stacking copies before it returns freed chunks to the system.
TRIM_BYTES = 64 << 20


@dataclasses.dataclass(frozen=True)
class ParsedFile:
    """A parsed file: its header, the schema it was read with, and its rows, one array per type.

    `arrays` maps each stored dtype to a `[rows, columns]` array, columns in
    `Schema.stored_order`; a string column holds indices into its entry of
    `strings`, the file's distinct strings in the order first seen.
    `ignored` lists the file's columns the schema does not have; `notes`
    what a person should know of values that were read (float32 rounding
    an integer or flushing a small number to 0). `size` is the number of
    bytes read of the file (of a compressed file: compressed bytes), to be
    compared with its listed size; `lines` the number of lines read (the
    header included), `compressed` whether the file is an archive.
    """

    header: tuple[str, ...]
    schema: Schema
    arrays: dict[str, np.ndarray]
    strings: dict[str, tuple[str, ...]]
    size: int
    skipped: tuple[BadRow, ...] = ()
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    lines: int = 0
    compressed: bool = False

    @property
    def num_rows(self) -> int:
        return len(next(iter(self.arrays.values()), ()))


# Measured on TF 2.21 / pandas 3.1, 2 cores: per-line parsing through tf.data
# costs ~3 us a line, a chunk one call; a tf.data pipeline per file retraces its
# map function (~80 ms, which dwarfs a small file); pandas' C parser takes
# chunks about twice as fast as decode_csv (three times, with string columns).
class CsvReader:
    """Parses whole CSV files into typed columns, matched to a schema by name.

    The file is read through `tf.io.gfile` in chunks of whole lines, and each
    chunk is parsed by one call of a traced TensorFlow function that runs
    `tf.io.decode_csv` on all its lines at once, chunks in parallel threads
    (TF releases the GIL), not line by line. Columns are found by their
    header name, in any order; the file's other columns are ignored (and
    listed in `ParsedFile.ignored`). A gzip, bzip2 or xz file (told by its
    first bytes, not its name) is read as it is decompressed, never whole.

    A value is missing if, without the spaces around it, it is empty or one
    of `na_values`; it takes its column's default, or makes its line bad. A
    float32 value must be a finite number, an int64 one an integer; a string
    is kept as written (quotes removed). A bad line rejects the file
    (`BadFileError` naming the line and column) unless `skip_bad_rows`.

    Where pandas is installed, chunks without quotes (and without the
    spellings of booleans, which pandas reads as numbers) of schemas
    without int64 columns are parsed by its C parser instead, with the same
    values and the same rows accepted; any other chunk, and any chunk pandas
    refuses, goes to TensorFlow, which judges it and names the bad line.

    Example:

    >>> reader = CsvReader(label="price", columns={"area": "float32", "city": "string", "price": "float32"})
    >>> parsed = reader.read("incoming/part-0001.csv")
    >>> parsed.arrays["float32"].shape  # (rows, 2): area, then price

    Args:
        label: the label column's name, a list of names, a dict of them, or `None`.
        chunk_bytes: size of the chunks parsed in parallel.
        max_line_bytes: longest line accepted; a longer one rejects the file.
        parser: `"auto"` (pandas for the chunks it reads as TensorFlow does, where it is installed,
            TensorFlow for the rest), `"pandas"` (the same, but pandas must
            be installed) or `"tensorflow"` (TensorFlow only).
        columns: `None` to infer the schema from each file read without one
            (see `infer_schema`), or a dict name -> `"float32"`, `"int64"`
            or `"string"`.
        defaults: a dict name -> the value a missing value takes.
        na_values: the spellings of a missing value (default: pandas' own).
    """

    def __init__(
        self,
        label,
        chunk_bytes: int = 1 << 21,
        max_line_bytes: int = 1 << 20,
        parser: str = "auto",
        columns: Mapping[str, str] | None = None,
        defaults: Mapping[str, object] | None = None,
        na_values: Sequence[str] | None = None,
    ):
        check_choice("parser", parser, ("auto", "pandas", "tensorflow"))
        self.labels = check_labels(label)
        self.chunk_bytes = check_int("chunk_bytes", chunk_bytes, minimum=1)
        self.max_line_bytes = check_int("max_line_bytes", max_line_bytes, minimum=1)
        self.declared = check_columns(columns, self.labels)
        self.defaults = check_defaults(defaults, self.declared)
        self.na_values = check_na_values(na_values)
        self._pandas = load_pandas() if parser != "tensorflow" else None
        if parser == "pandas" and self._pandas is None:
            raise ImportError('parser="pandas" needs pandas: pip install "keras-growing-data[fast]"')
        self._workers = os.cpu_count() or 1
        self._pool = _parse_pool(self._workers)

    def read(
        self,
        path: str,
        schema: Schema | None = None,
        skip_bad_rows: bool = False,
        partition: Mapping[str, str] | None = None,
        end: int | None = None,
    ) -> ParsedFile:
        """Parses the file at `path`.

        Args:
            path: the file to read.
            schema: the schema in force; `None` for the declared one, or, if
                none was declared, one inferred from this file.
            skip_bad_rows: leave out the lines that do not parse (listed in
                `ParsedFile.skipped`) instead of rejecting the file.
            partition: column -> value that the file's folders give every
                one of its rows (`partition_values`): typed as the column,
                or, being inferred, as a number if it reads as one.
            end: read a plain file only up to this byte (the end of its last
                complete line, for a file that is appended to); `None`
                reads it whole. An archive is always read whole.

        Raises:
            BadFileError: the file is empty, a truncated or corrupt archive,
                its header does not fit, or a line does not parse (and
                `skip_bad_rows` is off).
            UnreadableFileError: the file cannot be read now (permissions,
                an I/O or network error): its content was not judged.
        """
        with _judged_reading(), _open(path) as f:
            return self._read(f, path, schema or self.declared, skip_bad_rows, partition or {}, end)

    def read_lines(
        self,
        path: str,
        schema: Schema,
        skip_bad_rows: bool,
        partition: Mapping[str, str],
        start: int,
        end: int,
        first_line: int,
    ) -> ParsedFile:
        """Parses the lines between bytes `start` and `end` of a plain file, by the file's header.

        For the lines appended to a file already read: `first_line` is the
        number of the line at `start`, which the reasons name. There may be
        no rows (blank lines, or every line skipped): `arrays` is then empty.

        Raises:
            BadFileError, UnreadableFileError: as `read`.
        """
        with _judged_reading(), _open(path) as f:
            header = f.readline(self.max_line_bytes + 1)
            if len(header) > self.max_line_bytes:
                raise self._too_long("line 1 (the header)")
            columns = parse_header(header.removesuffix(b"\n"))
            given, not_in_schema = typed_partition(
                partition, columns, schema.dtypes, self.defaults, self.na_values
            )
            plan, ignored = self._plan(columns, schema, given)
            f.seek(start)
            chunks = self._line_chunks(self._blocks(_Limited(f, end - start)))
            try:
                rows = self._rows(chunks, plan, skip_bad_rows, first_line, given)
            except _LineTooLong:
                raise self._too_long("a line after the ones read before") from None
            arrays, strings = rows.stacked(schema) if rows.parts else ({}, {})
            return ParsedFile(
                tuple(columns),
                schema,
                arrays,
                strings,
                end - start,
                tuple(rows.skipped),
                ignored + not_in_schema,
                rows.notes(),
                lines=rows.line - first_line,
            )

    def _plan(
        self, columns: Sequence[str], schema: Schema, given: Mapping[str, object]
    ) -> tuple[ChunkPlan, tuple[str, ...]]:
        """The chunk plan of a file with this header, and its columns the schema lacks.

        `given` are the values its folders give (`typed_partition`). The plan
        holds placeholders in their place, not the values, so that one plan,
        and one traced parser, serves every partition; the values fill their
        columns once the rows are stacked.
        """
        return match_header(columns, schema, {**self.defaults, **placeholders(given, schema)}, self.na_values)

    def _read(
        self, f, path: str, schema: Schema | None, skip_bad_rows: bool, partition, end: int | None = None
    ) -> ParsedFile:
        content = content_of(f)
        if content.compressed:
            end = None  # An archive is read whole.
        if end is not None:
            content = _Limited(content, end)
        try:
            return self._parsed(f, content, path, schema, skip_bad_rows, partition, end)
        except BadFileError:
            # A damaged archive may decompress to bad lines before its checksum
            # fails; then the damage is the reason.
            content.check_archive()
            raise

    def _parsed(
        self, f, content, path: str, schema: Schema | None, skip_bad_rows: bool, partition, end: int | None
    ) -> ParsedFile:
        """The file `f` parsed from `content` (up to byte `end` of a plain file, if given), what it holds."""
        chunks = self._chunks_after_checks(content)
        try:
            first = next(chunks)
        except _LineTooLong:
            raise self._too_long("line 1 (the header)") from None
        header, _, body = first.partition(b"\n")
        columns = parse_header(header)
        dtypes = None if schema is None else schema.dtypes
        given, not_in_schema = typed_partition(partition, columns, dtypes, self.defaults, self.na_values)
        if schema is None:
            require_labels(columns, self.labels)  # Before inference, which reads the whole file.
            schema = self.infer_schema(path, columns, given)
        plan, ignored = self._plan(columns, schema, given)
        ignored += not_in_schema
        try:
            rows = self._rows(itertools.chain([body], chunks), plan, skip_bad_rows, first_line=2, given=given)
        except _LineTooLong as e:
            raise self._too_long(f"line {e.args[0]}") from None
        arrays, strings = rows.stacked(schema)
        # Read to its end (or to `end`, past which nothing is read but the first bytes that told
        # the format): the bytes of the file, compressed or not, not of the lines.
        size = f.tell() if end is None or content.compressed else min(f.tell(), end)
        return ParsedFile(
            tuple(columns),
            schema,
            arrays,
            strings,
            size,
            tuple(rows.skipped),
            ignored,
            rows.notes(),
            lines=rows.line - 1,
            compressed=content.compressed,
        )

    def _rows(
        self,
        chunks: Iterable[bytes],
        plan: ChunkPlan,
        skip_bad_rows: bool,
        first_line: int,
        given: Mapping[str, object],
    ) -> "_FileRows":
        """The rows of these chunks of whole lines, the first numbered `first_line`.

        `given` are the values the file's folders give (`typed_partition`).

        Raises:
            _LineTooLong: with the number of the long line.
        """
        rows = _FileRows(plan, self._parser(plan), skip_bad_rows, given, line=first_line)
        pending = collections.deque()
        # Chunks go to the pool as they are read, at most two per thread
        # ahead, so reading overlaps parsing and memory stays bounded.
        try:
            for data in chunks:
                pending.append((data, self._pool.submit(rows.parse, data)))
                if len(pending) > 2 * self._workers:
                    rows.take(*pending.popleft())
        except _LineTooLong:
            # Workers count the lines; the ones before say which line it is.
            while pending:
                rows.take(*pending.popleft())
            raise _LineTooLong(rows.line) from None
        while pending:
            rows.take(*pending.popleft())
        return rows

    def infer_schema(
        self, path: str, columns: Sequence[str], given: Mapping[str, object] | None = None
    ) -> Schema:
        """The schema of a file with this header: every column, typed by its values.

        A column whose values, missing ones aside, all read as numbers is
        `"float32"`; any other is `"string"`. A column the file lacks but
        `defaults` names joins too (`"string"` for a str default, else
        `"float32"`), so later files may hold it or not. A line too long or
        of the wrong width is left out here (the read that follows names it).
        So do the columns that the file's folders give (`given`, typed by
        their values as defaults are).

        Raises:
            BadFileError: the file has no column besides the labels.
        """
        if len(columns) == len(self.labels) and set(columns) == set(self.labels):
            raise BadFileError("the header has no feature column besides the labels")
        numeric = np.ones(len(columns), bool)
        is_numeric = numeric_fields(len(columns), tuple(sorted(self.na_values)))

        pending = collections.deque()
        with _open(path) as f:
            chunks = self._chunks_after_checks(content_of(f))
            try:
                body = next(chunks).partition(b"\n")[2]
                # The first line's values are a guess that most chunks confirm at the cost of a read.
                numeric &= self._numbers_in(body[: body.find(b"\n") + 1 or len(body)], len(columns))
                guess = tuple(numeric)
                as_guessed = functools.partial(_parse_chunk, _guessed_plan(guess), self._pandas)
                for data in itertools.chain([body], chunks):
                    # Until a chunk proved the guess wrong, chunks are tried as guessed.
                    confirm = as_guessed if tuple(numeric) == guess else None
                    pending.append(self._pool.submit(self._numeric_fields, is_numeric, confirm, data, guess))
                    if len(pending) > 2 * self._workers:
                        numeric &= pending.popleft().result()
                    if not numeric.any():
                        break
            except _LineTooLong:
                pass
        for future in pending:
            numeric &= future.result()
        dtypes = ["float32" if number else "string" for number in numeric]
        present = set(columns)
        optional = [
            (name, "string" if isinstance(value, str) else "float32")
            for name, value in {**self.defaults, **(given or {})}.items()
            if name not in present
        ]
        return Schema((*zip(columns, dtypes, strict=True), *optional), tuple(self.labels))

    def _numeric_fields(self, is_numeric, as_guessed, data: bytes, guess: tuple[bool, ...]) -> np.ndarray:
        """Per field position, whether every value of a chunk is missing or a number.

        With `as_guessed`, a chunk is first parsed with the guessed columns
        as float32 and the others as strings (by pandas or TensorFlow, as a
        read would): if it parses, the guess holds for it, found at a
        fraction of the cost of looking at every field as a string.
        """
        num_fields = len(guess)
        lines = lines_of(data)
        if not lines:
            return np.ones(num_fields, bool)
        if as_guessed is not None and not isinstance(as_guessed(data)[0], str):
            return np.array(guess)
        try:
            return is_numeric(lines, b'"' in lines).numpy()
        except (tf.errors.InvalidArgumentError, UnicodeDecodeError):
            return self._numbers_in(data, num_fields)

    def _numbers_in(self, data: bytes, num_fields: int) -> np.ndarray:
        """`_numeric_fields` judged in Python, line by line, leaving out lines that do not parse."""
        numeric = np.ones(num_fields, bool)
        for fields in good_lines(data, num_fields):
            numeric &= [v.strip(SPACES) in self.na_values or parses_as_number(v) for v in fields]
        return numeric

    def _chunks_after_checks(self, content) -> Iterator[bytes]:
        """The chunks of whole lines of a file's content (`content_of`), once it shows it is not empty."""
        blocks = self._blocks(content)
        head = next(blocks, b"")
        if not head:
            raise BadFileError("the file is empty")
        return self._line_chunks(itertools.chain([head], blocks))

    def _too_long(self, line: str) -> BadFileError:
        """The error for a line longer than `max_line_bytes`."""
        return BadFileError(
            f"{line} is longer than the maximum of {self.max_line_bytes} bytes (max_line_bytes)"
        )

    def _blocks(self, f) -> Iterator[bytes]:
        """Yields the file's bytes in reads no longer than the longest line allowed."""
        return iter(functools.partial(f.read, min(self.chunk_bytes, self.max_line_bytes)), b"")

    def _line_chunks(self, blocks: Iterable[bytes]) -> Iterator[bytes]:
        """Yields chunks of whole lines, of `chunk_bytes` or more; raises `_LineTooLong` for a long line."""
        carry = b""
        lines, size = [], 0
        # No block is longer than the longest line allowed, so only a line
        # that spans blocks (the carry and what follows it) can be too long.
        for block in blocks:
            data = carry + block
            first_end = data.find(b"\n")
            if carry and (first_end if first_end >= 0 else len(data)) > self.max_line_bytes:
                if lines:  # The lines before it: the reader numbers the long one from them.
                    yield b"".join(lines)
                raise _LineTooLong
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            lines.append(data[:cut])
            size += cut
            carry = data[cut:]
            if size >= self.chunk_bytes:
                yield b"".join(lines)
                lines, size = [], 0
        if lines:
            yield b"".join(lines)
        if carry:
            yield carry

    def _parser(self, plan: ChunkPlan):
        pandas = self._pandas if takes_plan(plan) else None
        return functools.partial(_parse_chunk, plan, pandas)


def _open(path: str):
    """The regular file at `path` for reading bytes: local files directly, URLs through `tf.io.gfile`.

    Reading a local file through `GFile` costs about 2 ms a MiB (TF 2.21, a
    copy per read), a fifth of a mixed file's parse; Python's own reads
    cost a tenth of that. A local file is opened without blocking and must
    be a regular file: a named pipe renamed over it since it was listed
    would otherwise block the read forever.
    """
    if "://" in path:
        return tf.io.gfile.GFile(path, "rb")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadFileError(
                "is not a regular file (replaced since it was listed); only regular files are read"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@functools.cache
def _guessed_plan(numeric: tuple[bool, ...]) -> ChunkPlan:
    """A plan that reads the `numeric` fields as required finite float32s, the others as strings.

    A chunk parses with it only if every value of those fields is a number.
    """
    floats = tuple((str(i), i, NO_DEFAULT) for i, number in enumerate(numeric) if number)
    strings = tuple((str(i), i, NO_DEFAULT) for i, number in enumerate(numeric) if not number)
    groups = (("float32", floats),) * bool(floats) + (("string", strings),) * bool(strings)
    return ChunkPlan(len(numeric), groups, ("",), typed_first=True)


@functools.cache
def _parse_pool(workers: int) -> concurrent.futures.ThreadPoolExecutor:
    """The threads that parse chunks, shared by every reader (one pool a reader would leak threads)."""
    return concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="csv-parse")


class _LineTooLong(Exception):
    """A line longer than `max_line_bytes`, found while reading."""


class _Limited:
    """The first `size` bytes of a file's content (`content_of`): its lines up to a byte."""

    compressed = False

    def __init__(self, content, size: int):
        self._content = content
        self._left = size

    def check_archive(self) -> None:
        self._content.check_archive()

    def read(self, size: int) -> bytes:
        data = self._content.read(min(size, self._left)) if self._left > 0 else b""
        self._left -= len(data)
        return data


@contextlib.contextmanager
def _judged_reading():
    """Turns what reading a file raises into `BadFileError` (its content) or `UnreadableFileError`."""
    try:
        yield
    except (FileNotFoundError, tf.errors.NotFoundError):
        raise VanishedFileError("vanished while being read") from None
    except tf.errors.InvalidArgumentError as e:  # The content, not the reading.
        raise BadFileError(f"does not parse: {tf_message(e)}") from None
    except tf.errors.OpError as e:
        raise UnreadableFileError(f"cannot be read now: {e.message}") from None
    except OSError as e:
        raise UnreadableFileError(f"cannot be read now: {e.strerror or e}") from None


@dataclasses.dataclass
class _FileRows:
    """The rows of one file's chunks, taken in file order, and its bad lines.

    A chunk's string indices point into that chunk's distinct strings; they
    are renumbered here into the file's, in the order first seen in the file.
    The columns of `partition` (column -> typed value, `typed_partition`)
    hold placeholders until the rows are stacked, then their values.
    """

    plan: ChunkPlan
    parse: Callable[[bytes], tuple[tuple | str | None, int]]
    skip_bad_rows: bool
    partition: Mapping[str, object]
    parts: list[tuple[np.ndarray, ...]] = dataclasses.field(default_factory=list)
    skipped: list[BadRow] = dataclasses.field(default_factory=list)
    line: int = 2  # The number of the next chunk's first line.
    distinct: list[dict[str, int]] = dataclasses.field(default_factory=list)
    losses: list[tuple[int, float, int, float]] = dataclasses.field(default_factory=list)

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
        if not isinstance(result, str):
            self._keep(*result)
            return
        if not self.skip_bad_rows:
            diagnose(line, data, self.plan)
            raise BadFileError(f"does not parse: {result}")
        good = []
        for number, raw, reason in line_problems(line, data, self.plan):
            if reason is None:
                good.append(raw)
            else:
                self.skipped.append(BadRow(number, reason))
        if good:
            rows, _ = self.parse(b"\n".join(good))
            if isinstance(rows, str):
                raise BadFileError(f"does not parse: {rows}")
            self._keep(*rows)

    def _keep(
        self, arrays: tuple[np.ndarray, ...], strings: tuple[tuple[str, ...], ...], losses: tuple
    ) -> None:
        self._add_losses(losses)
        if strings:
            dtypes = [dtype for dtype, _ in self.plan.groups]
            at = dtypes.index("string")
            codes = np.empty_like(arrays[at])
            for j, chunk_strings in enumerate(strings):
                if j == len(self.distinct):
                    self.distinct.append({})
                known = self.distinct[j]
                renumber = np.fromiter(
                    (known.setdefault(s, len(known)) for s in chunk_strings), np.int32, len(chunk_strings)
                )
                if np.array_equal(renumber, np.arange(len(renumber))):  # Numbered as the file numbers them.
                    codes[:, j] = arrays[at][:, j]
                else:
                    codes[:, j] = renumber[arrays[at][:, j]]
            arrays = arrays[:at] + (codes,) + arrays[at + 1 :]
        self.parts.append(arrays)

    def _add_losses(self, losses: tuple) -> None:
        """Adds a chunk's float32 losses to the file's: counts summed, the first example kept."""
        if not self.losses:
            self.losses = list(losses)
            return
        for j, (integers, integer, zeros, zero) in enumerate(losses):
            total = self.losses[j]
            self.losses[j] = (
                total[0] + integers,
                total[1] if total[0] else integer,
                total[2] + zeros,
                total[3] if total[2] else zero,
            )

    def notes(self) -> tuple[str, ...]:
        """What float32 changed in the file's values, in words."""
        names = [name for dtype, columns in self.plan.groups if dtype == "float32" for name, _, _ in columns]
        return loss_notes(names, self.losses) if self.losses else ()

    def stacked(self, schema: Schema) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
        """All rows taken, one array per stored dtype, and each string column's distinct strings.

        The partition columns get their values here, once per file, and what
        float32 loses of them joins the file's losses.
        """
        if not self.parts:
            if self.skipped:
                first = self.skipped[0]
                raise BadFileError(f"every data row is bad; the first: line {first.line}: {first.reason}")
            raise NoDataRowsError("the file has a header but no data rows")
        arrays = {dtype: self._stack(i) for i, (dtype, _) in enumerate(self.plan.groups)}
        self.parts = []
        names = schema.stored_order("string")
        strings = {name: tuple(self.distinct[j]) for j, name in enumerate(names)}
        for j, losses in fill_partition(self.partition, schema, arrays, strings).items():
            self.losses[j] = losses
        return arrays, strings

    def _stack(self, i: int) -> np.ndarray:
        """The chunks' arrays at `i` as one 64-byte aligned array (which a store shares, not copies).

        Each chunk's array is let go once copied, and the new array's pages
        become resident only as written, so stacking needs about one chunk
        more than the rows, not twice the rows.
        """
        rows = sum(len(part[i]) for part in self.parts)
        first = self.parts[0][i]
        stacked = aligned_empty((rows, first.shape[1]), first.dtype)
        start = copied = 0
        for k, part in enumerate(self.parts):
            stacked[start : start + len(part[i])] = part[i]
            start += len(part[i])
            copied += part[i].nbytes
            self.parts[k] = part[:i] + (None,) + part[i + 1 :]
            if copied >= TRIM_BYTES:
                # Freed chunks stay in glibc's arenas, resident, until trimmed.
                release_parse_memory()
                copied = 0
        return stacked


def _parse_chunk(plan: ChunkPlan, pandas, data: bytes) -> tuple[tuple | str | None, int]:
    """A chunk's `(arrays, strings, losses)` (why it failed, or None: blank lines only), and its newlines.

    `losses` says, per float32 column, what float32 changed (`float32_losses`).
    Counting the newlines (to number the lines of later chunks) costs as much
    as a tenth of pandas' parse; where pandas parsed the chunk, every line was
    a row, so its rows count them.
    """
    if pandas is not None:
        parsed = parse_chunk_with_pandas(pandas, data, plan)
        if parsed is not None and not _needs_direct_parse(plan, parsed[0]):
            return _narrowed(plan, *parsed), len(parsed[0][0]) - (not data.endswith(b"\n"))
    newlines = data.count(b"\n")
    lines = lines_of(data)
    if not lines:
        return None, newlines
    reason = "a value is missing without a default, or not finite"
    for typed in (True, False) if plan.typed_first else (False,):
        try:
            bad, arrays, strings = chunk_parser(plan, typed)(lines, b'"' in lines)
        except (tf.errors.InvalidArgumentError, UnicodeDecodeError) as e:
            # TF fails to decode its own error message when it quotes bytes that
            # are not UTF-8, hence UnicodeDecodeError.
            reason = tf_message(e)
            continue
        if bad:
            continue
        try:
            distinct = tuple(tuple(s.decode("utf-8") for s in d.numpy()) for d in strings)
        except UnicodeDecodeError:
            return "a string is not valid UTF-8", newlines
        arrays = tuple(a.numpy() for a in arrays)
        exact = None
        if _needs_direct_parse(plan, arrays):
            _, direct, _ = chunk_parser(plan, typed, wide=False)(lines, b'"' in lines)
            exact = direct[_float32_group(plan)].numpy()
        return _narrowed(plan, arrays, distinct, exact), newlines
    return reason, newlines


def _float32_group(plan: ChunkPlan) -> int | None:
    """The position of the float32 group among a plan's arrays, if it has one."""
    dtypes = [dtype for dtype, _ in plan.groups]
    return dtypes.index("float32") if "float32" in dtypes else None


def _needs_direct_parse(plan: ChunkPlan, arrays: tuple[np.ndarray, ...]) -> bool:
    at = _float32_group(plan)
    return at is not None and needs_direct_parse(arrays[at])


def _narrowed(plan: ChunkPlan, arrays: tuple, strings: tuple, exact: np.ndarray | None = None) -> tuple:
    """`(arrays, strings, losses)` with the float32 group, parsed as float64, made float32.

    `exact` is the group parsed straight to float32, where the float64 may round otherwise.
    """
    at = _float32_group(plan)
    if at is None:
        return arrays, strings, ()
    values = arrays[at]
    narrowed = values.astype(np.float32) if exact is None else exact
    return arrays[:at] + (narrowed,) + arrays[at + 1 :], strings, tuple(float32_losses(values, narrowed))
