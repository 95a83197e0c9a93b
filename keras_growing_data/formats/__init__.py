"""File formats, as adapters: one class each (`FileFormat`), the steps they share, and `get_format`.

See `file_format.py` for the interface and the steps to add a format.
"""

import inspect

from keras_growing_data.formats.by_suffix import BySuffix
from keras_growing_data.formats.csv.csv_format import CsvFormat
from keras_growing_data.formats.file_format import FileFormat, ParsedFile
from keras_growing_data.formats.jsonl.jsonl_format import JsonlFormat
from keras_growing_data.formats.parquet.parquet_format import ParquetFormat

# The formats `get_format` builds by name, and the ingest reads (`every_format`), each by its suffixes.
# The first reads the names no format claims.
FORMATS = {cls.name: cls for cls in (CsvFormat, JsonlFormat, ParquetFormat)}


def get_format(format_or_name: FileFormat | str, **options) -> FileFormat:
    """The `FileFormat` named (`"csv"`), built with `options`; or a `FileFormat` instance, as is.

    Example:

    >>> csv_format = get_format("csv", label="price", max_line_bytes=1 << 16)
    >>> get_format(csv_format) is csv_format
    True

    Raises:
        ValueError: no format has that name, or options come with an instance.
        TypeError: `format_or_name` is neither a name nor a `FileFormat`.
    """
    if isinstance(format_or_name, FileFormat):
        if options:
            raise ValueError(
                f"get_format was given a {type(format_or_name).__name__} instance and options "
                f"{sorted(options)}; options are for a format given by name."
            )
        return format_or_name
    if not isinstance(format_or_name, str):
        raise TypeError(
            f"The format must be a name ({', '.join(map(repr, FORMATS))}) or a FileFormat instance, "
            f"got {format_or_name!r} ({type(format_or_name).__name__})."
        )
    if format_or_name not in FORMATS:
        raise ValueError(
            f"Unknown file format {format_or_name!r}; the known ones are {', '.join(map(repr, FORMATS))}, "
            "or give a FileFormat instance."
        )
    return FORMATS[format_or_name](**options)


def every_format(**options) -> BySuffix:
    """Every format of `FORMATS`, each built with the `options` it takes, picked per file by its name.

    Example:

    >>> any_format = every_format(label="price", max_line_bytes=1 << 16, parser="tensorflow")
    >>> any_format.format_of("day-1.ndjson.gz").max_line_bytes
    65536
    """
    formats = []
    for cls in FORMATS.values():
        takes = inspect.signature(cls).parameters
        formats.append(cls(**{name: value for name, value in options.items() if name in takes}))
    return BySuffix(formats)


def file_patterns() -> tuple[str, ...]:
    """The names every format reads, as `fnmatch` patterns: `*.csv`, `*.csv.gz`, ..., `*.jsonl`, ..."""
    return tuple(
        f"*{suffix}{compression}"
        for cls in FORMATS.values()
        for suffix in cls.suffixes
        for compression in ("", *cls.compressions)
    )


__all__ = ["FORMATS", "BySuffix", "FileFormat", "ParsedFile", "every_format", "file_patterns", "get_format"]
