"""Reads one JSON Lines file into typed columns, in chunks of whole lines: the JSON Lines `FileFormat`."""

import os
from collections.abc import Iterable, Mapping, Sequence

from keras_growing_data.errors import BadFileError, NoDataRowsError
from keras_growing_data.formats import opening
from keras_growing_data.formats.column_names import header_names, listed_names, require_labels
from keras_growing_data.formats.decompressed import Limited, check_one_layer, content_of
from keras_growing_data.formats.file_format import DEFAULT_MAX_FILE_BYTES, FileFormat, ParsedFile
from keras_growing_data.formats.file_rows import FileRows
from keras_growing_data.formats.inferred_schema import inferred_schema
from keras_growing_data.formats.jsonl.arrow_lines import arrow_lines
from keras_growing_data.formats.jsonl.json_values import NESTED
from keras_growing_data.formats.jsonl.key_kinds import KeyKinds
from keras_growing_data.formats.jsonl.key_plan import KeyPlan, key_plan
from keras_growing_data.formats.jsonl.python_lines import python_lines
from keras_growing_data.formats.line_chunks import (
    LineTooLong,
    blocks,
    chunks_after_checks,
    line_chunks,
    too_long,
)
from keras_growing_data.formats.partitions import typed_partition
from keras_growing_data.formats.schema import Schema
from keras_growing_data.utils.arguments import check_int, check_labels
from keras_growing_data.utils.printable import excerpt
from keras_growing_data.utils.scratch_arrays import ScratchArrays

UTF8_BOM = b"\xef\xbb\xbf"


# Measured on 2 cores, pyarrow 26, pandas 3.1 (benchmarks section 14): reading 1M lines of 11 numbers
# takes half the time of `pandas.read_json(lines=True)`; Python's json, line by line, about twice
# pandas' time (26 us a line). So Arrow reads every chunk it can type, and Python only the rest.
class JsonlFormat(FileFormat):
    """Parses whole JSON Lines files (one JSON object a line) into typed columns, matched by key.

    The file is read in chunks of whole lines, each parsed by Arrow's JSON
    reader in C++ threads; a chunk Arrow cannot type as the schema wants
    (a string column that holds numbers, say) or that holds a bad line is
    parsed again line by line in Python, by the same rules, which name the
    bad line and key. A gzip, bzip2 or xz file (told by its first bytes) is
    read as it is decompressed, never whole. Keys are columns, in any
    order; keys the schema does not have are ignored (listed in
    `ParsedFile.ignored`).

    Values: a number is a float32 (finite), an int64 if written as an
    integer (`1.0` is not one), or, in a string column, its text as
    written; `true`/`false` are 1/0 in a number column and `"true"`/`"false"`
    in a string column; a string is a string column's value (in a number
    column it is bad: `"3.5"` is text); `null` and a missing key are missing
    values, which take the column's default or make the line bad. Objects
    and lists are bad in a schema column. `na_values` are not used: JSON
    says missing with `null`. Inferred, a key whose values (nulls aside)
    are all numbers or booleans is float32, one that holds a string is
    string, and one that holds objects or lists is ignored. A bad line
    rejects the file (`BadFileError`: `line 7, key 'price': expected a
    number, found "abc"`) unless `skip_bad_rows`.

    Example:

    >>> columns = {"area": "float32", "city": "string", "price": "float32"}
    >>> jsonl_format = JsonlFormat(label="price", columns=columns)
    >>> parsed = jsonl_format.read("incoming/part-0001.jsonl")
    >>> parsed.arrays["float32"].shape  # (rows, 2): area, then price

    Args:
        label: the label column's name, a list of names, a dict of them, or `None`.
        chunk_bytes: size of the chunks of lines parsed at once.
        max_line_bytes: longest line accepted; a longer one rejects the file.
        columns: the declared schema, or `None` (see `FileFormat`).
        defaults: what fills a missing value (see `FileFormat`).
        na_values: accepted as every format takes it, and not used (see above).
        max_file_bytes: the most bytes one read of a file may take in,
            decompressed (see `FileFormat`).
    """

    name = "jsonl"
    suffixes = (".jsonl", ".ndjson")
    tails = True
    streams_rows = True

    def __init__(
        self,
        label,
        chunk_bytes: int = 1 << 21,
        max_line_bytes: int = 1 << 20,
        columns: Mapping[str, str] | None = None,
        defaults: Mapping[str, object] | None = None,
        na_values: Sequence[str] | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ):
        check_labels(label)  # Before the options that follow it, as the arguments come; kept below.
        self.chunk_bytes = check_int("chunk_bytes", chunk_bytes, minimum=1)
        self.max_line_bytes = check_int("max_line_bytes", max_line_bytes, minimum=1)
        super().__init__(label, columns, defaults, na_values, max_file_bytes)
        # Arrow parses a chunk in blocks, one a thread; a line must fit in one.
        self._block_bytes = max(self.chunk_bytes // (os.cpu_count() or 1), self.max_line_bytes + 1)

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
        with opening.judged_reading(), opening.open_file(path) as f:
            content = content_of(f, self.max_file_bytes)
            if content.compressed:
                end = None  # An archive is read whole.
            if end is not None:
                content = Limited(content, end)
            try:
                return self._parsed(
                    f, content, path, schema or self.declared, skip_bad_rows, partition or {}, end, scratch
                )
            except BadFileError:
                # A damaged archive may decompress to bad lines before its checksum fails; then the
                # damage is the reason.
                content.check_archive()
                raise

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
        """Parses the lines between bytes `start` and `end` of a plain file (see `FileFormat.read_lines`).

        Each line carries its own keys, so `header` is not needed (a log
        whose writer went on after a copytruncate rotation is read as is).
        """
        if end - start > self.max_file_bytes:
            raise BadFileError(
                f"has {end - start} bytes of new lines, more than max_file_bytes "
                f"({self.max_file_bytes}) at once; raise max_file_bytes to read them"
            )
        with opening.judged_reading(), opening.open_file(path) as f:
            f.seek(start)
            chunks = line_chunks(self._blocks(Limited(f, end - start)), self.chunk_bytes, self.max_line_bytes)
            given, not_in_schema = typed_partition(
                partition, (), schema.dtypes, self.defaults, self.na_values
            )
            rows = JsonlRows(
                schema, self._plan(schema, given), skip_bad_rows, given, self._block_bytes, first_line
            )
            try:
                rows.take_all(chunks)
            except LineTooLong:
                raise too_long(f"line {rows.line}", self.max_line_bytes) from None
            self._check_keys(rows.keys, schema, partition)
            arrays, strings = rows.stacked() if rows.has_rows else ({}, {})
            return ParsedFile(
                rows.keys,
                schema,
                arrays,
                strings,
                end - start,
                tuple(rows.skipped),
                _ignored(rows.keys, schema) + not_in_schema,
                rows.notes(),
                lines=rows.line - first_line,
            )

    def _parsed(
        self,
        f,
        content,
        path: str,
        schema: Schema | None,
        skip_bad_rows: bool,
        partition: Mapping[str, str],
        end: int | None,
        scratch: ScratchArrays | None,
    ) -> ParsedFile:
        """The file `f` parsed from `content` (up to byte `end` of a plain file, if given), what it holds."""
        chunks = self._chunks(content)
        dtypes = None if schema is None else schema.dtypes
        given, not_in_schema = typed_partition(partition, (), dtypes, self.defaults, self.na_values)
        if schema is None:
            schema = self.infer_schema(path, end, given)
        rows = JsonlRows(
            schema, self._plan(schema, given), skip_bad_rows, given, self._block_bytes, 1, scratch
        )
        try:
            rows.take_all(chunks)
        except LineTooLong:
            raise too_long(f"line {rows.line}", self.max_line_bytes) from None
        self._check_keys(rows.keys, schema, partition)
        if not rows.has_rows and not rows.skipped:
            raise NoDataRowsError("has no JSON object yet, only blank lines")
        arrays, strings = rows.stacked()
        # Read to its end (or to `end`): the bytes of the file, compressed or not, not of the lines.
        size = f.tell() if end is None or content.compressed else min(f.tell(), end)
        return ParsedFile(
            rows.keys,
            schema,
            arrays,
            strings,
            size,
            tuple(rows.skipped),
            _ignored(rows.keys, schema) + not_in_schema,
            rows.notes(),
            lines=rows.line - 1,
            compressed=content.compressed,
        )

    def _chunks(self, content) -> Iterable[bytes]:
        """The chunks of whole lines of a file's content, once its first bytes show that it is text."""
        chunks = chunks_after_checks(content, self.chunk_bytes, self.max_line_bytes)
        try:
            first = next(chunks)
        except LineTooLong:
            raise too_long("line 1", self.max_line_bytes) from None
        check_one_layer(first)
        return _chained(first.removeprefix(UTF8_BOM), chunks)

    def _plan(self, schema: Schema, given: Mapping[str, object]) -> KeyPlan:
        return key_plan(schema, self.defaults, given)

    def _check_keys(self, keys: Sequence[str], schema: Schema, partition: Mapping[str, str]) -> None:
        """Checks a file's keys against its folders' columns and the schema's features.

        Raises:
            BadFileError: a line has a key that its folder gives, or no line has a feature's key.
        """
        for name, value in partition.items():
            if name in keys:
                folder = excerpt(f"{name}={value}")
                raise BadFileError(f"has the key {excerpt(name)}, which its folder {folder} gives as well")
        from_lines = [name for name in schema.features if name not in partition]
        if keys and from_lines and not any(name in keys for name in from_lines):
            raise BadFileError(
                f"its lines have none of the schema's feature keys {header_names(from_lines)}; "
                f"they have {header_names(keys)}"
            )

    def infer_schema(
        self, path: str, end: int | None = None, given: Mapping[str, object] | None = None
    ) -> Schema:
        """The schema of the file at `path` (up to byte `end`): its keys typed by their values (`KeyKinds`).

        A key whose values, nulls aside, are all numbers or booleans is
        `"float32"`; one that holds a string is `"string"`; one that holds
        objects or lists is left out (ignored). A bad line is left out here
        (the read that follows names it).

        Raises:
            BadFileError: no line has a label's key, a label holds nested
                values, or the lines have no key besides the labels.
        """
        kinds = KeyKinds()
        with opening.open_file(path) as f:
            content = content_of(f, self.max_file_bytes)
            if end is not None and not content.compressed:
                content = Limited(content, end)
            try:
                for chunk in self._chunks(content):
                    kinds.add(chunk, self._block_bytes)
            except LineTooLong:
                pass
        keys = kinds.keys
        require_labels(keys, self.labels)
        nested_labels = [name for name in self.labels if name in kinds.nested]
        if nested_labels:
            raise BadFileError(
                f"the label key {listed_names(nested_labels)} holds objects or lists; {NESTED}"
            )
        columns = [name for name in keys if name not in kinds.nested]
        if set(columns) <= set(self.labels):
            raise BadFileError(
                f"its lines have no key besides the labels {listed_names(self.labels)} "
                f"(keys holding objects or lists are not read); they have {header_names(keys)}"
            )
        return inferred_schema(columns, kinds.numeric(columns), self.labels, self.defaults, given)

    def _blocks(self, f):
        return blocks(f, self.chunk_bytes, self.max_line_bytes)


class JsonlRows(FileRows):
    """The rows of one JSON Lines file's chunks, taken in file order; its keys and its bad lines.

    Each chunk is parsed by Arrow (`arrow_lines`), or, where Arrow cannot
    type it, in Python (`python_lines`). `line` is the number of the next
    chunk's first line; `scratch`, where the rows go as they are taken
    (`FileRows`).
    """

    def __init__(
        self,
        schema: Schema,
        plan: KeyPlan,
        skip_bad_rows: bool,
        partition: Mapping[str, object],
        block_bytes: int,
        line: int = 1,
        scratch: ScratchArrays | None = None,
    ):
        super().__init__(schema, partition, scratch)
        self.plan = plan
        self.skip_bad_rows = skip_bad_rows
        self.block_bytes = block_bytes
        self.line = line
        self._keys = {}

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of the objects taken: the schema's, in its order, then the others, as first seen.

        An object's keys have no order to keep; this one is the same whichever parser read a chunk.
        """
        dtypes = self.schema.dtypes
        return tuple(name for name in dtypes if name in self._keys) + tuple(
            name for name in self._keys if name not in dtypes
        )

    def take_all(self, chunks: Iterable[bytes]) -> None:
        for data in chunks:
            self.take(data)

    def take(self, data: bytes) -> None:
        """Takes one chunk of whole lines (the file's last may lack its newline)."""
        parsed = arrow_lines(data, self.plan, self.block_bytes)
        if parsed is None:
            parsed = python_lines(data, self.line, self.plan, self.skip_bad_rows)
        self.line += data.count(b"\n") + (not data.endswith(b"\n"))
        self._keys.update(dict.fromkeys(parsed.keys))
        self.skipped.extend(parsed.skipped)
        if parsed.part is not None:
            self.keep(*parsed.part)


def _chained(first: bytes, rest: Iterable[bytes]) -> Iterable[bytes]:
    yield first
    yield from rest


def _ignored(keys: Sequence[str], schema: Schema) -> tuple[str, ...]:
    dtypes = schema.dtypes
    return tuple(name for name in keys if name not in dtypes)
