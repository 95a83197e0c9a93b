"""Reads each file with the format its name says: one folder of CSV, JSON Lines, ... files (`BySuffix`)."""

import posixpath
from collections.abc import Mapping, Sequence

from keras_growing_data.formats.file_format import FileFormat, ParsedFile
from keras_growing_data.formats.schema import Schema
from keras_growing_data.utils.scratch_arrays import ScratchArrays


class BySuffix(FileFormat):
    """A `FileFormat` that reads each file with the format its name's suffix names.

    A file's format is told by the end of its name, after any compression
    ending of that format (`part-0.jsonl.gz` is JSON Lines, compressed),
    case aside; a name that no format's `suffixes` end (`export.data`,
    matched by a `pattern` of the user's) is read by `fallback`, CSV in the
    ingest, as before formats were told apart. Each format then checks the
    file's content (a CSV file named `.jsonl` is rejected: its first line
    is not a JSON object). The formats share one schema: columns are
    matched by name whatever the file's format, so a folder may mix them.

    Example:

    >>> options = {"label": "price", "columns": {"area": "float32", "price": "float32"}}
    >>> any_format = BySuffix([CsvFormat(**options), JsonlFormat(**options)])
    >>> any_format.format_of("incoming/day-1.jsonl.gz").name
    'jsonl'

    Args:
        formats: the formats, each built with the same `label`, `columns`,
            `defaults`, `na_values` and `max_file_bytes`; no two may claim
            the same suffix.
        fallback: the format of a name no format claims; `None` for the first of `formats`.

    Raises:
        ValueError: the formats were built with different options, or two claim a suffix.
    """

    name = "by_suffix"
    streams_rows = True

    def __init__(self, formats: Sequence[FileFormat], fallback: FileFormat | None = None):
        if not formats:
            raise ValueError("BySuffix needs at least one format.")
        first = formats[0]
        for other in formats[1:]:
            for option in ("labels", "declared", "defaults", "na_values", "max_file_bytes"):
                if getattr(other, option) != getattr(first, option):
                    raise ValueError(
                        f"BySuffix: the {other.name} and {first.name} formats were built with different "
                        f"{option}; every format of a folder reads it alike."
                    )
        self.labels, self.declared, self.defaults = first.labels, first.declared, first.defaults
        self.na_values, self.max_file_bytes = first.na_values, first.max_file_bytes
        self.formats = tuple(formats)
        self.fallback = first if fallback is None else fallback
        self._by_suffix = {}
        for file_format in formats:
            for suffix in file_format.suffixes:
                claimed = self._by_suffix.setdefault(suffix.lower(), file_format)
                if claimed is not file_format:
                    raise ValueError(
                        f"BySuffix: the {claimed.name} and {file_format.name} formats both claim {suffix!r}."
                    )
        self.tails = any(file_format.tails for file_format in (*formats, self.fallback))

    def format_of(self, path: str) -> FileFormat:
        """The format that reads the file at `path`, by its name."""
        name = posixpath.basename(path).lower()
        for suffix, file_format in self._by_suffix.items():
            for compression in ("", *file_format.compressions):
                if name.endswith(suffix + compression):
                    return file_format
        return self.fallback

    def tails_file(self, path: str) -> bool:
        return self.format_of(path).tails

    def read(
        self,
        path: str,
        schema: Schema | None = None,
        skip_bad_rows: bool = False,
        partition: Mapping[str, str] | None = None,
        end: int | None = None,
        scratch: ScratchArrays | None = None,
    ) -> ParsedFile:
        """Parses the file at `path` with its format (see `FileFormat.read`), into `scratch` if it streams."""
        file_format = self.format_of(path)
        if file_format.streams_rows:
            return file_format.read(path, schema, skip_bad_rows, partition, end=end, scratch=scratch)
        return file_format.read(path, schema, skip_bad_rows, partition, end=end)

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
        """Parses lines appended to the file at `path` with its format (see `FileFormat.read_lines`)."""
        return self.format_of(path).read_lines(
            path, schema, skip_bad_rows, partition, start, end, first_line, header
        )
