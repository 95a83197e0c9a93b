"""The interface of a file format: how one file becomes typed columns, or the reason it cannot.

A format is an adapter, as Keras's `trainers/data_adapters/` are: one
class per format, in a folder of its own (`formats/csv/`), that subclasses
`FileFormat`; `get_format` (in `formats/__init__.py`) picks one by name or
takes an instance as is. The ingest (`sources/file_judge.py`, `sources/tail.py`)
knows only this interface. What every format needs is shared, one module a
job, outside any format's folder:

- `opening.py`: opening a file (a local path or a URL) and turning what
  reading it raises into a verdict (`judged_reading`);
- `decompressed.py`: a file's bytes through gzip, bzip2 or xz, told by its
  first bytes (`content_of`), and only up to a byte (`Limited`);
- `schema.py`: the schema (`Schema`) and the checks of the options every
  format takes (`columns`, `defaults`, `na_values`);
- `inferred_schema.py`: a schema inferred from a file's columns, once the
  format found which of them hold only numbers;
- `column_names.py`: how a reason names columns ("did you mean ...?");
- `partitions.py`: the columns that `key=value` folders give a file;
- `number_syntax.py`: the text of a number (partition values are text);
- `float32_values.py`: float64 values made float32, and notes on what that lost;
- `file_rows.py`: a file's parsed parts stacked, in file order, into one
  aligned array per type, strings dictionary-encoded (`FileRows`).

Steps to add a format (JSON Lines, `jsonl`, was added by them):

1. Make a folder `formats/jsonl/` (with an `__init__.py` whose docstring
   says what is in it) and `formats/jsonl/jsonl_format.py` with
   `class JsonlFormat(FileFormat)`: its `name` (`"jsonl"`), the file name
   `suffixes` it is picked by (`(".jsonl", ".ndjson")`; a `.gz`, `.bz2` or
   `.xz` after one is decompression's business, not the format's), and an
   `__init__` taking `label, columns, defaults, na_values` (passed to
   `FileFormat.__init__`, which checks them) and the format's own reading
   options. Modules only it needs go in its folder too.
2. Implement `read`. Open the file with `opening.open_file(path)` inside
   `opening.judged_reading()`, and map the errors of your own parser (the
   content) to `BadFileError` inside that. A stream of bytes goes through
   `decompressed.content_of` (given `self.max_file_bytes`), and, given
   `end`, through `Limited`; a format that needs random access (Parquet's
   footer, then row group by row group) uses the open file's `seek` and
   `read` instead, reads the file whole, and rejects one larger than
   `self.max_file_bytes`.
3. Find the file's column names; `partitions.typed_partition` types the
   values the file's folders give (`partition`). With no schema (`schema`
   and `self.declared` both `None`), check the labels and
   `inferred_schema.require_features`, find which columns hold only
   numbers, and build the schema with `inferred_schema.inferred_schema`.
4. Parse the file in parts (chunks of lines, row groups) into one array per
   dtype of `schema.groups`, columns in `Schema.stored_order`: float32 as
   float64 narrowed with `float32_values` (its losses give the notes),
   int64, strings as indices into the part's distinct strings; a column the
   file lacks takes its default, a missing value too (`na_values` are the
   missing spellings of text). `FileRows(schema, given).keep` each part in
   file order; a bad row is a `BadFileError` naming it ("line 3, column
   'x': ..."), or, with `skip_bad_rows`, a `BadRow` in `FileRows.skipped`.
   `FileRows.stacked()` gives the arrays and strings of the `ParsedFile`.
   If `read` takes `scratch` and passes it to `FileRows` (the rows then go
   to disk as they are parsed, with `storage="disk"`), set
   `streams_rows = True`; else the ingest gives it none.
5. Say what is wrong with a file only by the errors `FileFormat.read`
   lists, their messages completing "the file ..." and quoting the file's
   content only through `excerpt`.
6. If lines appended to a file can be read on their own (JSON Lines can,
   Parquet cannot), set `tails = True` and implement `read_lines`.
7. Add the class to `FORMATS` in `formats/__init__.py`: the ingest then
   reads the files whose names end in its `suffixes` (after any of its
   `compressions`) with it (`by_suffix.py`), and the watcher's default
   pattern matches them.
8. Test it in `tests/test_<name>_format.py` (and `get_format` by its name
   in `tests/test_file_format.py`); list its modules in
   `docs/how_it_works.md`.
"""

import abc
import dataclasses
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from keras_growing_data.formats.bad_row import BadRow
from keras_growing_data.formats.schema import Schema, check_columns, check_defaults, check_na_values
from keras_growing_data.utils.arguments import check_int, check_labels
from keras_growing_data.utils.scratch_arrays import ScratchArrays

# The most bytes one read of a file takes in by default (`FileFormat`'s `max_file_bytes`).
DEFAULT_MAX_FILE_BYTES = 1 << 32


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


class FileFormat(abc.ABC):
    """Reads whole files of one format into typed columns, matched to a schema by name.

    A subclass reads (`read`) and, if `tails`, reads lines appended to a
    file already read (`read_lines`). The options every format takes are
    checked here and kept as attributes, which the ingest reads: `labels`,
    `declared` (the declared `Schema`, or `None` to infer one from the
    first file), `defaults` and `na_values`; a subclass keeps to
    `max_file_bytes` (`content_of` does, given it).

    Args:
        label: the label column's name, a list of names, a dict of them, or `None`.
        columns: `None` infers the schema from the first accepted file
            (the oldest, by modification time then name, of the first poll
            that has any): every column, float32 if its non-missing values
            all read as numbers, else string. Or a dict name -> `"float32"`,
            `"int64"` or `"string"` naming the columns to use (labels
            included); other columns of a file are ignored, and listed in
            `AcceptedFile.ignored`.
        defaults: a dict name -> the value that fills a missing value of
            that column, and the whole column in a file that lacks it.
            `float("nan")` keeps NaN, on purpose.
        na_values: the spellings of a missing value, compared without the
            spaces around; `""` always is one. Default: pandas' own (`NA`,
            `N/A`, `NaN`, `nan`, `null`, `NULL`, `None`, `n/a`, `#N/A`,
            `<NA>`, ...: `schema.PANDAS_NA_VALUES`).
        max_file_bytes: the most bytes one read of a file may take in: its
            size, or, for a compressed file, its size decompressed. A file
            that holds more is rejected with a reason that says so, after
            at most this many bytes read (a few kilobytes of gzip or bzip2
            can inflate to gigabytes), and not read again until it changes.
            The default, 4 GiB, is past any file a growing folder usually
            receives; raise it for larger ones.
    """

    # The name `get_format` knows it by.
    name: ClassVar[str] = ""
    # The endings of the file names it reads, before any compression's.
    suffixes: ClassVar[tuple[str, ...]] = ()
    # The compressions its files may come in, as name endings after a suffix (`.csv.gz`): read as they
    # are decompressed (`decompressed.py`), and matched by the watcher's default pattern. A format that
    # needs random access into a file (Parquet's footer) has none.
    compressions: ClassVar[tuple[str, ...]] = (".gz", ".bz2", ".xz")
    # Whether it reads the lines appended to a plain local file after a read (`read_lines`).
    tails: ClassVar[bool] = False
    # Whether `read` takes `scratch`, where rows go as they are parsed (`storage="disk"`).
    streams_rows: ClassVar[bool] = False

    def __init__(
        self,
        label,
        columns: Mapping[str, str] | None = None,
        defaults: Mapping[str, object] | None = None,
        na_values: Sequence[str] | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ):
        self.labels = check_labels(label)
        self.declared = check_columns(columns, self.labels)
        self.defaults = check_defaults(defaults, self.declared)
        self.na_values = check_na_values(na_values)
        self.max_file_bytes = check_int("max_file_bytes", max_file_bytes, minimum=1)

    @abc.abstractmethod
    def read(
        self,
        path: str,
        schema: Schema | None = None,
        skip_bad_rows: bool = False,
        partition: Mapping[str, str] | None = None,
        end: int | None = None,
        scratch: ScratchArrays | None = None,
    ) -> ParsedFile:
        """Parses the file at `path`.

        Args:
            path: the file to read (a local path or a URL).
            schema: the schema in force; `None` for the declared one, or, if
                none was declared, one inferred from this file.
            skip_bad_rows: leave out the rows that do not parse (listed in
                `ParsedFile.skipped`) instead of rejecting the file.
            partition: column -> value that the file's folders give every
                one of its rows (`partition_values`): typed as the column,
                or, being inferred, as a number if it reads as one.
            end: read a plain file only up to this byte (the end of its last
                complete line, for a file that is appended to); `None`
                reads it whole. A format that cannot stop there reads it whole.
            scratch: where the rows go as they are parsed (only if the
                format `streams_rows`): `None` keeps them in memory; given,
                its files, and the arrays of the
                `ParsedFile` are memory maps of them (the caller deletes
                them, `ScratchArrays.remove`, whatever the verdict).

        Raises:
            BadFileError: the file's content cannot be ingested (the message
                says why, completing "the file ..."): `NoDataRowsError` for a
                file without a data row yet, `TruncatedArchiveError` for an
                archive cut short, `VanishedFileError` for a file gone while
                read.
            UnreadableFileError: the file cannot be read now (permissions,
                an I/O or network error): its content was not judged.
            StorageWriteError: `scratch` cannot be written.
        """

    def tails_file(self, path: str) -> bool:
        """Whether the lines appended to the file at `path` are read (`read_lines`); `tails`, here."""
        return self.tails

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
        """Parses the lines between bytes `start` and `end` of a plain file already read up to `start`.

        Only a format that `tails`. `first_line` is the number of the line
        at `start`, which the reasons name. There may be no rows (blank
        lines, or every line skipped): `arrays` is then empty. A format
        with a header line reads the lines under `header` where it is
        given (a log whose writer went on without one after a copytruncate
        rotation), else under the file's first line.

        Raises:
            BadFileError, UnreadableFileError: as `read`.
        """
        raise NotImplementedError(f"the {self.name} format does not read appended lines")
