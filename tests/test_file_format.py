import dataclasses
import os

import numpy as np
import pytest
from helpers import OLD, write_csv

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats import FORMATS, FileFormat, ParsedFile, get_format, opening
from keras_growing_data.formats.csv.csv_format import CsvFormat
from keras_growing_data.formats.decompressed import content_of
from keras_growing_data.formats.file_rows import FileRows
from keras_growing_data.formats.float32_values import float32_losses
from keras_growing_data.formats.jsonl.jsonl_format import JsonlFormat
from keras_growing_data.formats.parquet.parquet_format import ParquetFormat
from keras_growing_data.formats.schema import Schema
from keras_growing_data.sources.ingest import FolderIngest
from keras_growing_data.sources.ingest_parts import ingest_parts
from keras_growing_data.sources.records import BadRow


class OneFloatPerLine(FileFormat):
    """A toy format, written as the steps in `file_format.py` say: one float, column "x", per line."""

    name = "floats"
    suffixes = (".txt",)

    def read(self, path, schema=None, skip_bad_rows=False, partition=None, end=None) -> ParsedFile:
        schema = schema or self.declared or Schema((("x", "float32"),), tuple(self.labels))
        rows = FileRows(schema, {})
        with opening.judged_reading(), opening.open_file(path) as f:
            text = content_of(f).read(1 << 20)
            values = []
            for number, line in enumerate(text.splitlines(), 1):
                try:
                    values.append(float(line))
                except ValueError:
                    if not skip_bad_rows:
                        raise BadFileError(f"line {number}: not a float") from None
                    rows.skipped.append(BadRow(number, "not a float"))
            size = f.tell()
        if values:
            exact = np.array(values, np.float64)[:, None]
            narrowed = exact.astype(np.float32)
            rows.keep((narrowed,), (), tuple(float32_losses(exact, narrowed)))
        arrays, strings = rows.stacked()
        return ParsedFile(("x",), schema, arrays, strings, size, tuple(rows.skipped), notes=rows.notes())


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.utime(path, (OLD, OLD))
    return str(path)


def test_a_format_is_built_by_name_with_its_options():
    columns = {"a": "float32", "price": "float32"}
    csv_format = get_format("csv", label="price", max_line_bytes=100, columns=columns)
    assert isinstance(csv_format, CsvFormat) and isinstance(csv_format, FileFormat)
    assert csv_format.max_line_bytes == 100 and csv_format.labels == ["price"]
    assert csv_format.declared == Schema((("a", "float32"), ("price", "float32")), ("price",))
    assert FORMATS == {"csv": CsvFormat, "jsonl": JsonlFormat, "parquet": ParquetFormat}
    assert CsvFormat.name == "csv" and CsvFormat.tails
    jsonl_format = get_format("jsonl", label="price", max_line_bytes=100, columns=columns)
    assert isinstance(jsonl_format, JsonlFormat) and jsonl_format.declared == csv_format.declared
    parquet_format = get_format("parquet", label="price", columns=columns, max_file_bytes=100)
    assert isinstance(parquet_format, ParquetFormat) and parquet_format.declared == csv_format.declared
    assert parquet_format.max_file_bytes == 100 and not ParquetFormat.tails and ParquetFormat.streams_rows


def test_an_instance_is_taken_as_is():
    toy = OneFloatPerLine(label=None)
    assert get_format(toy) is toy
    with pytest.raises(ValueError, match=r"options \['label'\]; options are for a format given by name"):
        get_format(toy, label="y")


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(
        ValueError, match=r"^Unknown file format 'xml'; the known ones are 'csv', 'jsonl', 'parquet', or"
    ):
        get_format("xml", label="y")
    with pytest.raises(
        TypeError, match=r"must be a name \('csv', 'jsonl', 'parquet'\) or a FileFormat instance, got 3"
    ):
        get_format(3)


def test_a_format_must_read_and_reads_no_appended_lines_unless_it_tails():
    with pytest.raises(TypeError, match="abstract"):
        FileFormat(label=None)
    toy = OneFloatPerLine(label=None)
    assert not toy.tails
    with pytest.raises(NotImplementedError, match="the floats format does not read appended lines"):
        toy.read_lines("a.txt", toy.declared, False, {}, 0, 1, 1)


def test_the_options_every_format_takes_are_checked_by_the_interface():
    with pytest.raises(ValueError, match="columns must declare the label columns too"):
        OneFloatPerLine(label="y", columns={"x": "float32"})
    with pytest.raises(TypeError, match="na_values must be None or a list of str"):
        OneFloatPerLine(label=None, na_values="NA")
    toy = OneFloatPerLine(label=None, defaults={"x": 0.5}, na_values=["?"])
    assert toy.defaults == {"x": 0.5} and toy.na_values == {"", "?"}


def test_the_csv_format_reads_through_the_interface(tmp_path):
    path = write_csv(tmp_path / "a.csv", [(1, 2, 3), (4, 5, 6)])
    csv_format: FileFormat = get_format("csv", label="price")
    parsed = csv_format.read(path)
    np.testing.assert_array_equal(parsed.arrays["float32"], [[1, 2, 3], [4, 5, 6]])
    assert parsed.header == ("id", "x", "price") and parsed.lines == 3
    assert parsed.size == os.path.getsize(path)
    with open(path, "a") as f:
        f.write("7,8,9\n")
    appended = csv_format.read_lines(path, parsed.schema, False, {}, parsed.size, os.path.getsize(path), 4)
    np.testing.assert_array_equal(appended.arrays["float32"], [[7, 8, 9]])


def test_a_toy_format_reads_its_files_and_names_a_bad_one(tmp_path):
    toy = OneFloatPerLine(label=None)
    parsed = toy.read(write_text(tmp_path / "a.txt", "1.5\n2\n"))
    np.testing.assert_array_equal(parsed.arrays["float32"], [[1.5], [2]])
    with pytest.raises(BadFileError, match="^line 2: not a float$"):
        toy.read(write_text(tmp_path / "b.txt", "1\nx\n"))
    skipped = toy.read(str(tmp_path / "b.txt"), skip_bad_rows=True)
    assert skipped.num_rows == 1 and skipped.skipped == (BadRow(2, "not a float"),)
    with pytest.raises(BadFileError, match="^vanished while being read$"):
        toy.read(str(tmp_path / "missing.txt"))


def test_the_ingest_reads_through_whatever_format_it_holds(folder):
    parts = ingest_parts(folder, label=None, pattern="*.txt", settle_seconds=0)
    ingest = FolderIngest(dataclasses.replace(parts, file_format=OneFloatPerLine(label=None)))
    good = write_text(folder / "a.txt", "1\n2\n3\n")
    bad = write_text(folder / "b.txt", "1\noops\n")
    assert ingest.poll() == [good]
    assert ingest.num_rows == 3 and ingest.rejected[bad].reason == "line 2: not a float"
