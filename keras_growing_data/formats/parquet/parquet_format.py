"""Reads one Parquet file into typed columns, row group by row group: the Parquet `FileFormat`."""

import collections
import contextlib
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from keras_growing_data.errors import BadFileError, NoDataRowsError
from keras_growing_data.formats import opening
from keras_growing_data.formats.column_names import (
    LISTED,
    and_more,
    header_names,
    listed_names,
    require_labels,
    suggestions,
)
from keras_growing_data.formats.file_format import FileFormat, ParsedFile
from keras_growing_data.formats.inferred_schema import inferred_schema, require_features
from keras_growing_data.formats.parquet.arrow_types import inferred_dtype, kind_of, type_problem, type_text
from keras_growing_data.formats.parquet.batch_rows import NO_DEFAULT, BatchPlan, BatchRows
from keras_growing_data.formats.parquet.footer import whole_size
from keras_growing_data.formats.partitions import placeholders, typed_partition
from keras_growing_data.formats.schema import Schema, default_problem
from keras_growing_data.utils.printable import excerpt
from keras_growing_data.utils.scratch_arrays import ScratchArrays

# A row group whose columns read take at most this many bytes (at 8 bytes a value) is read at once;
# a larger one in batches of `BATCH_ROWS` rows, so that a file's memory is its rows and a batch.
GROUP_BYTES = 64 << 20
BATCH_ROWS = 1 << 16
# How much of a column chunk Arrow reads at a time, in batches: not the whole chunk (which, in a big
# row group, may be most of the file).
BUFFER_BYTES = 1 << 20
# The characters of Arrow's message a reason quotes.
MESSAGE_CHARS = 200


class ParquetFormat(FileFormat):
    """Parses whole Parquet files into typed columns, matched to a schema by name.

    The file is read with pyarrow, row group by row group (a large one in
    batches), and only its columns in the schema, so that reading a file
    takes memory for its rows and one batch, not for the file. Columns are
    found by name; the file's other columns are ignored (and listed in
    `ParsedFile.ignored`), whatever their type.

    Types (`arrow_types.py`): integer, floating (float16/32/64, decimal)
    and boolean columns read as float32 (true is 1.0); integer and boolean
    ones as int64; string, large_string and dictionary-encoded string
    columns as strings, and any column of these kinds as strings as Arrow
    writes them. A date column reads as its ISO text (`2026-12-01`, inferred
    as a string) or, declared int64, as days since 1970-01-01; a timestamp
    column as ISO text in nanoseconds (`2026-12-01 03:04:05.000000000`,
    `Z` for UTC) or, declared int64, as nanoseconds since 1970-01-01 UTC.
    Inferred, numbers and booleans are float32, strings, dates and
    timestamps strings; columns of other types (binary, list, struct, map)
    are ignored. A schema column of a type it cannot read (a string column
    declared float32, a list) rejects the file, naming the column and both
    types.

    A null (and NaN, in a float32 column) is a missing value, which takes
    the column's default; without one, its row is bad. So is an infinite
    number, or one past float32's range in a float32 column. A bad row
    rejects the file (`BadFileError` naming the row, its row group and the
    column) unless `skip_bad_rows`.

    A file that does not start with Parquet's magic number (`PAR1`) is not
    Parquet and is rejected; one without its footer yet (it does not end
    with `PAR1`) is still being written, or was cut short: it is rejected
    with `UnfinishedFileError`, left where it is, and read again once it
    changes.

    Example:

    >>> columns = {"area": "float32", "city": "string", "price": "float32"}
    >>> parquet_format = ParquetFormat(label="price", columns=columns)
    >>> parsed = parquet_format.read("incoming/part-00000.snappy.parquet")
    >>> parsed.arrays["float32"].shape  # (rows, 2): area, then price

    Args:
        label: the label column's name, a list of names, a dict of them, or `None`.
        columns: the declared schema, or `None` (see `FileFormat`).
        defaults: what fills a missing value (see `FileFormat`).
        na_values: accepted as every format takes it, and not used: Parquet
            says missing with a null.
        max_file_bytes: the most bytes a file may hold: its size, and its
            column data uncompressed, as its footer gives it (see `FileFormat`).
    """

    name = "parquet"
    suffixes = (".parquet",)
    # Parquet compresses inside the file: `.parquet.gz` is not one of its names.
    compressions = ()
    streams_rows = True

    def read(
        self,
        path: str,
        schema: Schema | None = None,
        skip_bad_rows: bool = False,
        partition: Mapping[str, str] | None = None,
        end: int | None = None,
        scratch: ScratchArrays | None = None,
    ) -> ParsedFile:
        """Parses the file at `path` (see `FileFormat.read`); always whole: `end` does not apply."""
        with opening.judged_reading(), opening.open_file(path) as f:
            if "://" in path:
                f = _GFileForArrow(f)
            size = whole_size(f)
            if size > self.max_file_bytes:
                raise BadFileError(
                    f"holds more than {self.max_file_bytes} bytes (max_file_bytes={self.max_file_bytes}); "
                    "raise max_file_bytes to read it"
                )
            with _arrow_errors():
                return self._parsed(f, size, schema or self.declared, skip_bad_rows, partition or {}, scratch)

    def _parsed(
        self,
        f,
        size: int,
        schema: Schema | None,
        skip_bad_rows: bool,
        partition: Mapping[str, str],
        scratch: ScratchArrays | None,
    ) -> ParsedFile:
        """The rows of the open Parquet file `f` of `size` bytes, by `schema` (`None`: inferred from it)."""
        parquet = pq.ParquetFile(f, buffer_size=BUFFER_BYTES, pre_buffer=False)
        metadata = parquet.metadata
        types = {field.name: field.type for field in parquet.schema_arrow}
        names = list(types)
        _check_names(parquet.schema_arrow.names)
        self._check_size(metadata)
        dtypes = None if schema is None else schema.dtypes
        given, not_in_schema = typed_partition(partition, names, dtypes, self.defaults, self.na_values)
        if schema is None:
            schema = self.infer_schema(names, types, given)
        plan, ignored = self._plan(names, types, schema, given)
        if metadata.num_rows == 0:
            raise NoDataRowsError("has no rows (an empty Parquet file)")
        dtypes = schema.dtypes
        texts = [name for name in plan.read if dtypes[name] == "string" and kind_of(types[name]) == "string"]
        if texts:
            # Read as dictionaries, a string column is its distinct strings and an index a row (as a
            # Parquet dictionary page stores it), not a string a row.
            parquet = pq.ParquetFile(
                f, buffer_size=BUFFER_BYTES, pre_buffer=False, read_dictionary=texts, metadata=metadata
            )
        group_rows = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
        rows = BatchRows(schema, plan, skip_bad_rows, given, np.cumsum([0, *group_rows[:-1]]), scratch)
        for batch in _batches(parquet, plan.read, group_rows):
            rows.take(batch)
        if not rows.has_rows:
            first = rows.skipped[0]
            raise BadFileError(f"every row is bad; the first: row {first.line} ({first.reason})")
        arrays, strings = rows.stacked()
        return ParsedFile(
            tuple(names),
            schema,
            arrays,
            strings,
            size,
            tuple(rows.skipped),
            ignored + not_in_schema,
            rows.notes(),
        )

    def _check_size(self, metadata: pq.FileMetaData) -> None:
        """Rejects a file whose column data, uncompressed, takes more than `max_file_bytes`."""
        column_bytes = sum(metadata.row_group(g).total_byte_size for g in range(metadata.num_row_groups))
        if column_bytes > self.max_file_bytes:
            raise BadFileError(
                f"holds {column_bytes} bytes of column data uncompressed, more than max_file_bytes "
                f"({self.max_file_bytes}); raise max_file_bytes to read it"
            )

    def infer_schema(
        self, names: Sequence[str], types: Mapping[str, pa.DataType], given: Mapping[str, object]
    ) -> Schema:
        """The schema of a file with these columns and types: each typed by its type (`arrow_types.py`).

        Numbers and booleans are float32, strings, dates and timestamps
        strings; a column of another type is left out (ignored).

        Raises:
            BadFileError: a label is missing or of a type not read, or the
                file has no column besides the labels.
        """
        require_labels(names, self.labels)
        for label in self.labels:
            if inferred_dtype(types[label]) is None:
                found = type_text(types[label])
                raise BadFileError(f"the label column {excerpt(label)} is {found}, which is not read")
        readable = [name for name in names if inferred_dtype(types[name]) is not None]
        require_features(readable, self.labels)
        numeric = [inferred_dtype(types[name]) == "float32" for name in readable]
        return inferred_schema(readable, numeric, self.labels, self.defaults, given)

    def _plan(
        self,
        names: Sequence[str],
        types: Mapping[str, pa.DataType],
        schema: Schema,
        given: Mapping[str, object],
    ) -> tuple[BatchPlan, tuple[str, ...]]:
        """How a file with these columns fills the schema, and its columns the schema ignores.

        Raises:
            BadFileError: the file lacks a label, every feature column, or a
                schema column that has no default (the reason names the
                closest column it has); a default does not fit its column's
                type; or a schema column is of a type it cannot read.
        """
        require_labels(names, schema.labels)
        dtypes = schema.dtypes
        ignored = tuple(name for name in names if name not in dtypes)
        if not any(name in types for name in schema.features):
            raise BadFileError(
                f"the file has none of the schema's feature columns {header_names(schema.features)}; "
                f"it has {header_names(names)}"
            )
        fills = {**self.defaults, **placeholders(given, schema)}
        lacking = [name for name in schema.features if name not in types and name not in fills]
        if lacking:
            first, them = lacking[:LISTED], "it" if len(lacking) == 1 else "them"
            raise BadFileError(
                f"the file has no column {listed_names(first)}{and_more(lacking)} of the schema, "
                f"and no default fills {them}{suggestions(first, ignored)}; it has {header_names(names)}"
            )
        for name, value in self.defaults.items():
            if name not in dtypes:
                schema_names = header_names(list(dtypes))
                raise BadFileError(
                    f"defaults names {excerpt(name)}, which is not a column of the schema {schema_names}"
                )
            problem = default_problem(name, value, dtypes[name])
            if problem:
                raise BadFileError(problem)
        read = tuple(name for name in names if name in dtypes)
        for name in read:
            problem = type_problem(name, types[name], dtypes[name])
            if problem:
                raise BadFileError(problem)
        position = {name: i for i, name in enumerate(read)}
        groups = tuple(
            (dtype, tuple((n, position.get(n), fills.get(n, NO_DEFAULT)) for n in schema.stored_order(dtype)))
            for dtype in schema.groups
        )
        return BatchPlan(read, groups), ignored


class _GFileForArrow:
    """A `tf.io.gfile.GFile` as Arrow reads a Python file: Arrow asks if it is `closed`; GFile cannot say."""

    closed = False

    def __init__(self, gfile):
        self._gfile = gfile

    def read(self, size: int = -1) -> bytes:
        return self._gfile.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._gfile.seek(offset, whence)
        return self._gfile.tell()

    def tell(self) -> int:
        return self._gfile.tell()

    def seekable(self) -> bool:
        return True


def _check_names(names: Sequence[str]) -> None:
    """Rejects a file with an empty column name, or one used twice: columns are matched by name."""
    if any(not name for name in names):
        raise BadFileError("has a column with an empty name")
    repeated = [name for name, count in collections.Counter(names).items() if count > 1]
    if repeated:
        raise BadFileError(f"repeats column names {listed_names(repeated[:LISTED])}{and_more(repeated)}")


def _batches(parquet: pq.ParquetFile, read: Sequence[str], group_rows: Sequence[int]):
    """The file's rows of the columns `read`, in order: a row group at a time, a large one in batches."""
    for group, rows in enumerate(group_rows):
        if rows * len(read) * 8 <= GROUP_BYTES:
            yield from parquet.read_row_group(group, columns=list(read)).to_batches()
        else:
            yield from parquet.iter_batches(BATCH_ROWS, row_groups=[group], columns=list(read))


@contextlib.contextmanager
def _arrow_errors():
    """Makes what Arrow says of a file's content a `BadFileError`; an error of reading it stays an `OSError`.

    Arrow raises its own errors (`ArrowInvalid`, a `ValueError`; `OSError`
    without an errno for a footer that does not parse: pyarrow 26) for the
    content, and passes on the `OSError` of a read, errno and all.
    """
    try:
        yield
    except MemoryError:
        raise
    except pa.ArrowException as e:
        raise BadFileError(f"does not read as Parquet: {excerpt(str(e), MESSAGE_CHARS)}") from None
    except OSError as e:
        if e.errno is not None:
            raise
        raise BadFileError(f"does not read as Parquet: {excerpt(str(e), MESSAGE_CHARS)}") from None
