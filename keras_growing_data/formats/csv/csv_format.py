"""Reads one CSV file into typed columns, in parallel chunks of whole lines: the CSV `FileFormat`."""

import collections
import contextlib
import functools
import itertools
import os
from collections.abc import Iterable, Mapping, Sequence

import tensorflow as tf

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats import opening
from keras_growing_data.formats.column_names import require_labels
from keras_growing_data.formats.csv.chunk_rows import ChunkRows, parse_chunk, parse_pool
from keras_growing_data.formats.csv.column_types import numeric_columns
from keras_growing_data.formats.csv.header import match_header, parse_header
from keras_growing_data.formats.csv.pandas_parser import load_pandas, takes_plan
from keras_growing_data.formats.csv.tf_parser import ChunkPlan, tf_message
from keras_growing_data.formats.decompressed import Limited, content_of
from keras_growing_data.formats.file_format import DEFAULT_MAX_FILE_BYTES, FileFormat, ParsedFile
from keras_growing_data.formats.inferred_schema import inferred_schema, require_features
from keras_growing_data.formats.line_chunks import (
    LineTooLong,
    blocks,
    chunks_after_checks,
    header_line,
    line_chunks,
    too_long,
)
from keras_growing_data.formats.partitions import placeholders, typed_partition
from keras_growing_data.formats.schema import Schema
from keras_growing_data.utils.arguments import check_choice, check_int, check_labels
from keras_growing_data.utils.scratch_arrays import ScratchArrays


# Measured on TF 2.21 / pandas 3.1, 2 cores: per-line parsing through tf.data
# costs ~3 us a line, a chunk one call; a tf.data pipeline per file retraces its
# map function (~80 ms, which dwarfs a small file); pandas' C parser takes
# chunks about twice as fast as decode_csv (three times, with string columns).
class CsvFormat(FileFormat):
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

    >>> columns = {"area": "float32", "city": "string", "price": "float32"}
    >>> csv_format = CsvFormat(label="price", columns=columns)
    >>> parsed = csv_format.read("incoming/part-0001.csv")
    >>> parsed.arrays["float32"].shape  # (rows, 2): area, then price

    Args:
        label: the label column's name, a list of names, a dict of them, or `None`.
        chunk_bytes: size of the chunks parsed in parallel.
        max_line_bytes: longest line accepted; a longer one rejects the file.
        parser: `"auto"` parses CSV without quotes with pandas' C parser where
            pandas is installed (`pip install "keras-growing-data[fast]"`;
            faster, see docs/speed.md), with TensorFlow's `decode_csv` for the rest;
            `"tensorflow"` uses TensorFlow only; `"pandas"` is `"auto"` that
            fails if pandas is missing. Every choice accepts the same rows
            with the same values.
        columns: the declared schema, or `None` (see `FileFormat`).
        defaults: what fills a missing value (see `FileFormat`).
        na_values: the spellings of a missing value (see `FileFormat`).
        max_file_bytes: the most bytes one read of a file may take in,
            decompressed (see `FileFormat`).
    """

    name = "csv"
    suffixes = (".csv",)
    tails = True
    streams_rows = True

    def __init__(
        self,
        label,
        chunk_bytes: int = 1 << 21,
        max_line_bytes: int = 1 << 20,
        parser: str = "auto",
        columns: Mapping[str, str] | None = None,
        defaults: Mapping[str, object] | None = None,
        na_values: Sequence[str] | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ):
        check_choice("parser", parser, ("auto", "pandas", "tensorflow"))
        check_labels(label)  # Before the options that follow it, as the arguments come; kept below.
        self.chunk_bytes = check_int("chunk_bytes", chunk_bytes, minimum=1)
        self.max_line_bytes = check_int("max_line_bytes", max_line_bytes, minimum=1)
        super().__init__(label, columns, defaults, na_values, max_file_bytes)
        self._pandas = load_pandas() if parser != "tensorflow" else None
        if parser == "pandas" and self._pandas is None:
            raise ImportError('parser="pandas" needs pandas: pip install "keras-growing-data[fast]"')
        self._workers = os.cpu_count() or 1
        self._pool = parse_pool(self._workers)

    def read(
        self,
        path: str,
        schema: Schema | None = None,
        skip_bad_rows: bool = False,
        partition: Mapping[str, str] | None = None,
        end: int | None = None,
        scratch: ScratchArrays | None = None,
    ) -> ParsedFile:
        """Parses the file at `path` (see `FileFormat.read`); an archive is always read whole."""
        with _reading(path) as f:
            return self._read(f, path, schema or self.declared, skip_bad_rows, partition or {}, end, scratch)

    def read_lines(
        self,
        path: str,
        schema: Schema,
        skip_bad_rows: bool,
        partition: Mapping[str, str],
        start: int,
        end: int,
        first_line: int,
        header: bytes | None = None,
    ) -> ParsedFile:
        """Parses the lines between bytes `start` and `end` of a plain file, by its header.

        For the lines appended to a file already read: `first_line` is the
        number of the line at `start`, which the reasons name. There may be
        no rows (blank lines, or every line skipped): `arrays` is then empty.
        The header is `header` where given (a log truncated by copytruncate
        whose writer went on without one), else the file's first line.

        Raises:
            BadFileError, UnreadableFileError: as `read`.
        """
        with _reading(path) as f:
            if header is None:
                header = header_line(f, self.max_line_bytes)
            columns = parse_header(header)
            given, not_in_schema = typed_partition(
                partition, columns, schema.dtypes, self.defaults, self.na_values
            )
            plan, ignored = self._plan(columns, schema, given)
            if end - start > self.max_file_bytes:
                raise BadFileError(
                    f"has {end - start} bytes of new lines, more than max_file_bytes "
                    f"({self.max_file_bytes}) at once; raise max_file_bytes to read them"
                )
            f.seek(max(0, start - 1))
            # A CR just before `start` may be the first half of a CRLF whose LF begins the new lines.
            after_cr = start > 0 and f.read(1) == b"\r"
            f.seek(start)
            chunks = line_chunks(
                self._blocks(Limited(f, end - start)), self.chunk_bytes, self.max_line_bytes, after_cr
            )
            try:
                rows = self._rows(chunks, schema, plan, skip_bad_rows, first_line, given)
            except LineTooLong:
                raise too_long("a line after the ones read before", self.max_line_bytes) from None
            arrays, strings = rows.stacked() if rows.has_rows else ({}, {})
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
        self,
        f,
        path: str,
        schema: Schema | None,
        skip_bad_rows: bool,
        partition,
        end: int | None,
        scratch: ScratchArrays | None,
    ) -> ParsedFile:
        content = content_of(f, self.max_file_bytes)
        if content.compressed:
            end = None  # An archive is read whole.
        if end is not None:
            content = Limited(content, end)
        try:
            return self._parsed(f, content, path, schema, skip_bad_rows, partition, end, scratch)
        except BadFileError:
            # A damaged archive may decompress to bad lines before its checksum
            # fails; then the damage is the reason.
            content.check_archive()
            raise

    def _parsed(
        self,
        f,
        content,
        path: str,
        schema: Schema | None,
        skip_bad_rows: bool,
        partition,
        end: int | None,
        scratch: ScratchArrays | None,
    ) -> ParsedFile:
        """The file `f` parsed from `content` (up to byte `end` of a plain file, if given), what it holds."""
        chunks = chunks_after_checks(content, self.chunk_bytes, self.max_line_bytes)
        try:
            first = next(chunks)
        except LineTooLong:
            raise too_long("line 1 (the header)", self.max_line_bytes) from None
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
            rows = self._rows(itertools.chain([body], chunks), schema, plan, skip_bad_rows, 2, given, scratch)
        except LineTooLong as e:
            raise too_long(f"line {e.args[0]}", self.max_line_bytes) from None
        arrays, strings = rows.stacked()
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
        schema: Schema,
        plan: ChunkPlan,
        skip_bad_rows: bool,
        first_line: int,
        given: Mapping[str, object],
        scratch: ScratchArrays | None = None,
    ) -> ChunkRows:
        """The rows of these chunks of whole lines, the first numbered `first_line`.

        `given` are the values the file's folders give (`typed_partition`);
        `scratch`, where the rows go as they are parsed (`None`: memory).

        Raises:
            LineTooLong: with the number of the long line.
        """
        pandas = self._pandas if takes_plan(plan) else None
        parse = functools.partial(parse_chunk, plan, pandas)
        rows = ChunkRows(schema, plan, parse, skip_bad_rows, given, line=first_line, scratch=scratch)
        pending = collections.deque()
        # Chunks go to the pool as they are read, at most two per thread
        # ahead, so reading overlaps parsing and memory stays bounded.
        try:
            for data in chunks:
                pending.append((data, self._pool.submit(rows.parse, data)))
                if len(pending) > 2 * self._workers:
                    rows.take(*pending.popleft())
        except LineTooLong:
            # Workers count the lines; the ones before say which line it is.
            while pending:
                rows.take(*pending.popleft())
            raise LineTooLong(rows.line) from None
        while pending:
            rows.take(*pending.popleft())
        return rows

    def infer_schema(
        self, path: str, columns: Sequence[str], given: Mapping[str, object] | None = None
    ) -> Schema:
        """The schema of a file with this header: every column, typed by its values (`inferred_schema`).

        A column whose values, missing ones aside, all read as numbers is
        `"float32"`; any other is `"string"`. A line too long or of the
        wrong width is left out here (the read that follows names it).

        Raises:
            BadFileError: the file has no column besides the labels.
        """
        require_features(columns, self.labels)
        with opening.open_file(path) as f:
            content = content_of(f, self.max_file_bytes)
            chunks = chunks_after_checks(content, self.chunk_bytes, self.max_line_bytes)
            numeric = numeric_columns(
                chunks, len(columns), self.na_values, self._pandas, self._pool, self._workers
            )
        return inferred_schema(columns, numeric, self.labels, self.defaults, given)

    def _blocks(self, f):
        return blocks(f, self.chunk_bytes, self.max_line_bytes)


@contextlib.contextmanager
def _reading(path: str):
    """The file at `path`, open; what reading it raises made verdicts, `decode_csv`'s a `BadFileError`."""
    with opening.judged_reading():
        try:
            with opening.open_file(path) as f:
                yield f
        except tf.errors.InvalidArgumentError as e:  # The content, not the reading.
            raise BadFileError(f"does not parse: {tf_message(e)}") from None
