"""Reads one CSV file into a float32 matrix of rows, in parallel chunks of whole lines."""

import collections
import concurrent.futures
import dataclasses
import functools
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import tensorflow as tf

from keras_growing_data.sources.header import compression_of, parse_header
from keras_growing_data.sources.line_checks import diagnose, line_problems
from keras_growing_data.sources.pandas_parser import load_pandas, parse_plain_chunk
from keras_growing_data.sources.records import BadFileError, BadRow
from keras_growing_data.sources.tf_parser import chunk_parser, lines_of, tf_message
from keras_growing_data.utils.arguments import check_choice, check_int, check_labels


@dataclasses.dataclass(frozen=True)
class ParsedFile:
    """A parsed file: its header, its rows (features first, then labels)."""

    columns: tuple[str, ...]
    rows: tf.Tensor
    size: int
    skipped: tuple[BadRow, ...] = ()


# Measured on TF 2.21 / pandas 3.1, 2 cores: per-line parsing through tf.data
# costs ~3 us a line, a chunk one call; a tf.data pipeline per file retraces its
# map function (~80 ms, which dwarfs a small file); pandas' C parser takes plain
# chunks about twice as fast as decode_csv.
class CsvReader:
    """Parses whole CSV files into `[rows, columns]` float32 tensors.

    The file is read through `tf.io.gfile` in chunks of whole lines, and each
    chunk is parsed by one call of a traced TensorFlow function that runs
    `tf.io.decode_csv` on all its lines at once, chunks in parallel threads
    (TF releases the GIL), not line by line. Output columns are reordered:
    features in header order, then the labels in the order they were named.

    Where pandas is installed, chunks of plain numbers (digits, signs, points,
    exponents, commas, spaces) are parsed by its C parser instead, with the
    same values and the same rows accepted; any other chunk, and any chunk
    pandas refuses, goes to TensorFlow, which judges it and names the bad line.

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
        self._pool = _parse_pool(self._workers)

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
        columns = parse_header(header, self.labels, expected)
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

    def _parser(self, columns: tuple[str, ...]):
        order = tuple(self.column_order(columns))
        return functools.partial(_parse_chunk, chunk_parser(len(columns), order), self._pandas, order)


@functools.cache
def _parse_pool(workers: int) -> concurrent.futures.ThreadPoolExecutor:
    """The threads that parse chunks, shared by every reader (one pool a reader would leak threads)."""
    return concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="csv-parse")


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
        return tf_message(e), newlines
    return (rows if finite else "a value is NaN or infinite"), newlines
