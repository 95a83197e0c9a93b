"""File formats, as adapters: one class each (`FileFormat`), the steps they share, and `get_format`.

See `file_format.py` for the interface and the steps to add a format.
"""

from keras_growing_data.formats.csv.csv_format import CsvFormat
from keras_growing_data.formats.file_format import FileFormat, ParsedFile
from keras_growing_data.formats.parquet.parquet_format import ParquetFormat

# The formats `get_format` builds by name.
FORMATS = {cls.name: cls for cls in (CsvFormat, ParquetFormat)}


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


__all__ = ["FORMATS", "FileFormat", "ParsedFile", "get_format"]
