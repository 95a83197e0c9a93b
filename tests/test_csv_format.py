import bz2
import gzip
import lzma
import os
import random
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
import tensorflow as tf

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats import decompressed
from keras_growing_data.formats.csv.csv_format import CsvFormat
from keras_growing_data.formats.csv.header import match_header
from keras_growing_data.formats.csv.line_checks import value_problem
from keras_growing_data.formats.csv.pandas_parser import load_pandas, parse_chunk_with_pandas, takes_plan
from keras_growing_data.formats.csv.tf_parser import tf_message
from keras_growing_data.formats.schema import SPACES, Schema, check_columns, check_na_values

pandas = load_pandas()
needs_pandas = pytest.mark.skipif(pandas is None, reason="pandas is not installed")


@pytest.fixture(params=["tensorflow", pytest.param("pandas", marks=needs_pandas)])
def parser(request):
    """Every reader test runs with TensorFlow's parser alone and with pandas' fast path."""
    return request.param


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return str(path)


def test_columns_are_stored_features_first_then_labels(parser, tmp_path):
    path = write(tmp_path / "a.csv", "price,a,b\n1,2,3\n4,5,6\n")
    parsed = CsvFormat(parser=parser, label="price").read(path)
    assert parsed.header == ("price", "a", "b")
    assert parsed.schema.names == ("price", "a", "b") and parsed.schema.features == ("a", "b")
    np.testing.assert_array_equal(parsed.arrays["float32"], [[2, 3, 1], [5, 6, 4]])


def test_several_labels_keep_their_given_order(parser, tmp_path):
    path = write(tmp_path / "a.csv", "y1,a,y2\n1,2,3\n")
    rows = CsvFormat(parser=parser, label=["y2", "y1"]).read(path).arrays["float32"]
    np.testing.assert_array_equal(rows, [[2, 3, 1]])


def test_large_file_spans_many_parallel_chunks(parser, tmp_path):
    values = np.arange(300_000, dtype=np.float32).reshape(-1, 3)
    path = str(tmp_path / "big.csv")
    np.savetxt(path, values, delimiter=",", fmt="%d", header="a,b,price", comments="")
    reader = CsvFormat(parser=parser, label="price", chunk_bytes=1 << 16)
    rows = reader.read(path).arrays["float32"]
    np.testing.assert_array_equal(rows, values)


def test_csv_as_people_write_it(parser, tmp_path):
    text = '\ufeff"a", "b,c" ,price\r\n1, 2.5, 3\r\n"4",5,6\r\n\r\n\n7,8,9'
    path = write(tmp_path / "a.csv", text, mode="w")
    parsed = CsvFormat(parser=parser, label="price").read(path)
    assert parsed.header == ("a", "b,c", "price")
    np.testing.assert_array_equal(parsed.arrays["float32"], [[1, 2.5, 3], [4, 5, 6], [7, 8, 9]])


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "the file is empty"),
        ("a,b,price\n", "header but no data rows"),
        ("a,b,price", "header but no data rows"),
        ("a,b,cost\n1,2,3\n", r"no label column \['price'\]"),
        ("a,a,price\n1,2,3\n", r"repeats column names \['a'\]"),
        ("price\n1\n", "no feature column"),
        ("a,,price\n1,2,3\n", "empty column name"),
        ("a,b,price\n1,2,3\n4,5\n", "line 3: expected 3 fields, found 2"),
        ("a,b,price\n1,2,3,4\n", "line 2: expected 3 fields, found 4"),
        ("a,b,price\n1,,3\n", r"line 2, column 'b': missing value '', and the column has no default"),
    ],
)
def test_bad_files_are_rejected_with_their_reason(parser, tmp_path, text, reason):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(BadFileError, match=reason):
        CsvFormat(parser=parser, label="price").read(path)


NUMBERS = {"a": "float32", "b": "float32", "price": "float32"}


@pytest.mark.parametrize(
    "text, reason",
    [
        ("a,b,price\n1,2,3\n4,x,6\n", r"line 3, column 'b': expected a number, found 'x'"),
        ('a,b,price\n1,"2"x,3\n', r"line 2: not CSV: a quoted field goes on after its closing quote"),
        ('a,b,price\n1, "2",3\n', r"line 2: not CSV: a quote inside an unquoted field"),
        ("a,b,price\n1,NA,3\n", r"line 2, column 'b': missing value 'NA', and the column has no default"),
        ("a,b,price\n1,2,3\n\n1,nan,3\n", r"line 4, column 'b': missing value 'nan', and the column"),
        ("a,b,price\n1,2,3\n\n1,-Infinity,3\n", r"line 4, column 'b': expected a finite number"),
        ("a,b,price\n1,2,inf\n", r"line 2, column 'price': expected a finite number"),
    ],
)
def test_bad_values_are_rejected_with_line_and_column(parser, tmp_path, text, reason):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(BadFileError, match=reason):
        CsvFormat(parser=parser, label="price", columns=NUMBERS).read(path)


SCHEMA = [f"c{i}" for i in range(1, 31)] + ["price"]


@pytest.mark.parametrize(
    "header, reason",
    [
        ("id,prce,x", "no label column ['price'] (did you mean 'prce'?); it has ['id', 'prce', 'x']"),
        ("id,Price,x", "no label column ['price'] (did you mean 'Price'?); it has ['id', 'Price', 'x']"),
        ("id,x", "no label column ['price']; it has ['id', 'x']"),
        (
            ",".join(SCHEMA[:-1] + ["cost"]),
            "no label column ['price']; "
            "it has ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'] ... (31 columns)",
        ),
    ],
)
def test_a_missing_label_names_the_closest_column(parser, tmp_path, header, reason):
    width = header.count(",") + 1
    path = write(tmp_path / "a.csv", header + "\n" + ",".join(["1"] * width) + "\n")
    with pytest.raises(BadFileError) as error:
        CsvFormat(parser=parser, label="price").read(path)
    assert str(error.value) == "the header has " + reason


def test_several_missing_labels_each_get_their_closest_column(parser, tmp_path):
    path = write(tmp_path / "a.csv", "Y1,a,y_3\n1,2,3\n")
    with pytest.raises(BadFileError) as error:
        CsvFormat(parser=parser, label=["y1", "y2", "y3"]).read(path)
    assert str(error.value) == (
        "the header has no label column ['y1', 'y2', 'y3'] (did you mean 'Y1' for 'y1', 'y_3' for 'y3'?); "
        "it has ['Y1', 'a', 'y_3']"
    )


def test_repeated_and_empty_column_names_are_listed_briefly(parser, tmp_path):
    names = [f"n{i}" for i in range(12)]
    repeats = write(tmp_path / "r.csv", ",".join(names * 2 + ["price"]) + "\n" + ",".join(["1"] * 25) + "\n")
    with pytest.raises(BadFileError) as error:
        CsvFormat(parser=parser, label="price").read(repeats)
    assert str(error.value) == "the header repeats column names ['n0', 'n1', 'n2', 'n3', 'n4'] and 7 more"
    one = write(tmp_path / "o.csv", "a,,price\n1,2,3\n")
    with pytest.raises(BadFileError) as error:
        CsvFormat(parser=parser, label="price").read(one)
    assert str(error.value) == "line 1 (the header) has an empty column name (column 2)"
    several = write(tmp_path / "s.csv", "a" + "," * 39 + "price\n" + ",".join(["1"] * 40) + "\n")
    with pytest.raises(BadFileError) as error:
        CsvFormat(parser=parser, label="price").read(several)
    assert str(error.value) == (
        "line 1 (the header) has empty column names (columns 2, 3, 4, 5, 6 and 33 more)"
    )
    blank = write(tmp_path / "b.csv", "\n1,2,3\n")
    with pytest.raises(BadFileError, match=r"^line 1 \(the header\) is blank$"):
        CsvFormat(parser=parser, label="price").read(blank)


def test_names_in_a_reason_are_short_escaped_excerpts(parser, tmp_path):
    sensor = "reading_of_the_temperature_sensor_north_7"  # 41 characters.
    names = [sensor + "_celsius", "tab\there" + "x" * 60, "é" * 50, "d", "e"]
    path = write(tmp_path / "a.csv", ",".join(names) + "\n" + ",".join(["1"] * 5) + "\n")
    with pytest.raises(BadFileError) as error:
        CsvFormat(parser=parser, label="price").read(path)
    # At most 40 characters of each name, and names up to about 100 characters in all.
    shown = f"['{sensor[:40]}'…, 'tab\\there{'x' * 31}'…, '{'é' * 40}'…] ... (5 columns)"
    assert str(error.value) == f"the header has no label column ['price']; it has {shown}"
    columns = {"area": "float32", sensor: "float32", "price": "float32"}
    path = write(tmp_path / "b.csv", f"area,{sensor}_celsius,price\n1,2,3\n")
    with pytest.raises(BadFileError) as error:
        CsvFormat(parser=parser, label="price", columns=columns).read(path)
    assert str(error.value) == (
        f"the header has no column ['{sensor[:40]}'…] of the schema, and no default fills it "
        f"(did you mean '{sensor[:40]}'…?); it has ['area', '{sensor[:40]}'…, 'price']"
    )


def test_tensorflow_messages_quote_the_file_only_in_an_excerpt():
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        tf.io.decode_csv([b"1,\x1b[2J" + b"secret" * 100], [tf.constant([], tf.float32)] * 2)
    assert tf_message(error.value) == (
        r"Field 1 in record 0 is not a valid float: '\x1b[2Jsecretsecretsecretsecretsecretsec'…"
    )


def cpu_seconds(function, repeats=1):
    """The least CPU time (all threads of this process) that `function()` took, over `repeats` runs."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def rejection(reader, path):
    with pytest.raises(BadFileError) as error:
        reader.read(path)
    return str(error.value)


def test_a_header_of_80000_columns_is_judged_in_time_linear_in_its_width(tmp_path):
    def header_file(name, width, **renamed):
        names = [f"c{i}" for i in range(width)]
        for i, new in renamed.items():
            names[int(i.removeprefix("at"))] = new
        return write(tmp_path / name, ",".join(names) + "\n" + ",".join(["1"] * width) + "\n")

    reader = CsvFormat(label="price")  # The schema is inferred: it has every column of the header.
    repeated = header_file("repeated.csv", 80_000, at1="price", at79999="c7")
    assert rejection(reader, repeated) == "the header repeats column names ['c7']"
    # A name in another case is found anywhere in the header.
    wide = header_file("wide.csv", 80_000, at60000="Price")
    reason = "the header has no label column ['price'] (did you mean 'Price'?); it has "
    assert rejection(reader, wide) == reason + f"{[f'c{i}' for i in range(8)]} ... (80000 columns)"
    narrow = header_file("narrow.csv", 800, at600="Price")
    # Linear: 100 times the width, at most 1,000 times the CPU time (quadratic would be 10,000 times).
    narrow_seconds = cpu_seconds(lambda: rejection(reader, narrow), repeats=5)
    assert cpu_seconds(lambda: rejection(reader, wide)) < 1000 * max(narrow_seconds, 1e-4)


def test_a_plan_of_80000_columns_finds_each_field_type_in_constant_time():
    def dtypes_of_every_field(width):
        header = [f"c{i}" for i in range(width)]
        columns = dict.fromkeys(header, "float32") | {"c1": "string"}
        plan = plan_of(header, columns)
        return [plan.dtype_at(position) for position in plan.positions]

    assert dtypes_of_every_field(80_000)[:3] == ["float32", "string", "float32"]
    narrow_seconds = cpu_seconds(lambda: dtypes_of_every_field(800), repeats=5)
    assert cpu_seconds(lambda: dtypes_of_every_field(80_000)) < 1000 * max(narrow_seconds, 1e-4)


CSV = b"a,b,price\n" + b"1,2,3\n" * 1000
COMPRESS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}
# zip: written by zipfile; lz4: `lz4 -c` and `lz4 -l -c` (its legacy format) of a two-line CSV.
REFUSED = {
    "zstd": b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 4,
    "zip": None,
    "lz4": b'\x04"M\x18d@\xa7\x10\x00\x00\x80a,b,price\n1,2,3\n\x00\x00\x00\x00\x9dM\x07\x89',
    "lz4 legacy": b"\x02!L\x18\x12\x00\x00\x00\xf0\x01a,b,price\n1,2,3\n",
    "lzma": lzma.compress(CSV, format=lzma.FORMAT_ALONE),
    "zlib": zlib.compress(CSV),
    "zlib level 9": zlib.compress(CSV, 9),
}


@pytest.mark.parametrize("kind", sorted(COMPRESS) + sorted(REFUSED))
def test_compressed_files_are_read_or_named_as_such(parser, tmp_path, kind):
    path = tmp_path / "a.csv.compressed"
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("a.csv", CSV)
    else:
        write(path, COMPRESS[kind](CSV) if kind in COMPRESS else REFUSED[kind], mode="wb")
    reader = CsvFormat(parser=parser, label="price")
    if kind in COMPRESS:
        np.testing.assert_array_equal(reader.read(str(path)).arrays["float32"], [[1, 2, 3]] * 1000)
        return
    name = kind.split()[0]
    assert rejection(reader, str(path)) == (
        f"looks {name}-compressed (its first bytes are {name}'s magic number); only gzip, bzip2 and xz "
        "are read: decompress it, or match only those with the pattern"
    )


@pytest.mark.parametrize(("outer", "inner"), [("gzip", "gzip"), ("xz", "gzip"), ("gzip", "bzip2")])
def test_a_file_compressed_twice_is_named_as_such(parser, tmp_path, outer, inner):
    path = write(tmp_path / "a.csv.gz", COMPRESS[outer](COMPRESS[inner](CSV)), mode="wb")
    assert rejection(CsvFormat(parser=parser, label="price"), str(path)) == (
        f"is compressed twice: decompressed, it is still {inner}-compressed (it starts with {inner}'s "
        "magic number; a gzip inside a gzip, say); only one layer of gzip, bzip2 or xz is read: "
        "compress it once"
    )


@pytest.mark.parametrize("chunk_bytes", [1 << 21, 7])  # 7: line ends split between reads too.
def test_lines_end_in_lf_crlf_or_cr_alone_mixed_as_pandas_reads_them(parser, tmp_path, chunk_bytes):
    lines = ["a,b,price", "1,2,3", '4,"x, y",6', "", "7,,9", "10,11,12"]
    reader = CsvFormat(parser=parser, label="price", defaults={"b": "?"}, chunk_bytes=chunk_bytes)
    expected = reader.read(write(tmp_path / "lf.csv", "\n".join(lines) + "\n"))
    assert expected.num_rows == 4 and expected.lines == 6
    mixed = "".join(
        line + end for line, end in zip(lines, ["\r", "\r\n", "\n", "\r", "\r\n", "\r"], strict=True)
    )
    for name, text in [
        ("crlf.csv", "\r\n".join(lines) + "\r\n"),
        ("mac.csv", "\r".join(lines) + "\r"),
        ("mixed.csv", mixed),
    ]:
        parsed = reader.read(write(tmp_path / name, text.encode(), mode="wb"))
        assert parsed.header == ("a", "b", "price") and parsed.strings == expected.strings == {
            "b": ("2", "x, y", "?", "11")
        }
        np.testing.assert_array_equal(parsed.arrays["float32"], expected.arrays["float32"])
        np.testing.assert_array_equal(parsed.arrays["string"], expected.arrays["string"])
        assert parsed.lines == 6, name
    # pandas reads these files the same: the same rows, whatever their line ends.
    if pandas is not None:
        frame = pandas.read_csv(tmp_path / "mixed.csv", keep_default_na=False)
        assert frame["price"].tolist() == [3, 6, 9, 12] and frame["b"].tolist() == ["2", "x, y", "", "11"]


def test_a_bad_line_of_a_file_with_cr_line_ends_is_named_by_its_number(parser, tmp_path):
    path = write(tmp_path / "mac.csv", b"a,b,price\r1,2,3\r\r4,x,6\r", mode="wb")
    assert rejection(CsvFormat(parser=parser, label="price", columns=NUMBERS), str(path)) == (
        "line 4, column 'b': expected a number, found 'x'"
    )
    # A line break inside a quoted field is not read, whichever line end it is.
    for end in (b"\n", b"\r", b"\r\n"):
        path = write(tmp_path / "quoted.csv", b'a,b,price\r\n1,"x' + end + b'y",3\r\n', mode="wb")
        assert rejection(CsvFormat(parser=parser, label="price"), str(path)) == (
            "line 2: not CSV: a quoted field has no closing quote"
        )


def compressed(path, kind):
    """Writes the file at `path` compressed with `kind` next to it; returns the new path."""
    with open(path, "rb") as f:
        return write(f"{path}.{kind}", COMPRESS[kind](f.read()), mode="wb")


def mixed_lines(count):
    """CSV lines of numbers and strings, quoted ones, blank lines, missing and bad values."""
    lines = ["\ufeffid,city, area ,note,price"]
    for i in range(count):
        city = ["Oslo", '"New York, NY"', " Lima ", "São Paulo", ""][i % 5]
        area = "" if i % 11 == 0 else f"{i / 7:.4f}"
        note = "x" if i % 1999 else "1,2"  # Now and then a line of the wrong width.
        lines.append(f"{i},{city},{area},{note},{i % 13}" if i % 997 else "")
    return lines


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_compressed_file_reads_as_its_plain_file_across_many_chunks(parser, tmp_path, kind):
    plain = write(tmp_path / "a.csv", "\r\n".join(mixed_lines(30_000)) + "\r\n")
    path = compressed(plain, kind)
    # The schema is inferred (a read of its own), defaults fill the missing values, bad lines are skipped.
    reader = CsvFormat(
        parser=parser, label="price", chunk_bytes=1 << 12, defaults={"area": -1.0, "city": "?"}
    )
    expected, parsed = (reader.read(p, skip_bad_rows=True) for p in (plain, path))
    assert parsed.schema == expected.schema and parsed.schema.dtypes["city"] == "string"
    assert parsed.header == expected.header and parsed.strings == expected.strings
    for dtype in expected.arrays:
        np.testing.assert_array_equal(parsed.arrays[dtype], expected.arrays[dtype])
    assert parsed.skipped == expected.skipped and len(parsed.skipped) == 15
    assert (parsed.ignored, parsed.notes) == (expected.ignored, expected.notes)
    assert parsed.num_rows == 30_000 - 31 - 15  # Less the blank lines and the bad ones.
    # The size read is the file's, compressed: what ingest compares with its listed size.
    assert (parsed.size, expected.size) == (os.path.getsize(path), os.path.getsize(plain))


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_bad_line_of_a_compressed_file_is_named_as_in_its_plain_file(parser, tmp_path, kind):
    lines = ["a,b,price"] + [f"{i},{i % 7},{i % 3}" for i in range(60_000)]
    lines[20_000] = ""
    lines[45_001] = "1,oops,3"
    plain = write(tmp_path / "a.csv", "\n".join(lines) + "\n")
    reader = CsvFormat(parser=parser, label="price", chunk_bytes=1 << 14, columns=NUMBERS)
    reason = "line 45002, column 'b': expected a number, found 'oops'"
    assert rejection(reader, plain) == rejection(reader, compressed(plain, kind)) == reason
    lines[45_001] = "1,2,3"
    lines.append("1" * 300 + ",2,3")
    plain = write(tmp_path / "b.csv", "\n".join(lines) + "\n")
    reader = CsvFormat(parser=parser, label="price", chunk_bytes=1 << 14, max_line_bytes=200)
    reason = "line 60002 is longer than the maximum of 200 bytes (max_line_bytes)"
    assert rejection(reader, plain) == rejection(reader, compressed(plain, kind)) == reason


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_truncated_archive_is_rejected_as_truncated(parser, tmp_path, kind):
    data = COMPRESS[kind](b"a,b,price\n" + b"".join(b"%d,%d,3\n" % (i, i % 7) for i in range(100_000)))
    path = write(tmp_path / "a.csv.part", data[: len(data) // 2], mode="wb")
    assert rejection(CsvFormat(parser=parser, label="price", chunk_bytes=1 << 14), path) == (
        f"is a truncated {kind} archive (it ends before its end-of-stream marker): "
        "still being written, or cut short when copied"
    )


def flipped(data, at, count=4):
    """`data` with `count` bytes from `at` on inverted."""
    return data[:at] + bytes(b ^ 0xFF for b in data[at : at + count]) + data[at + count :]


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_corrupt_archive_is_rejected_as_corrupt_even_after_a_bad_line(parser, tmp_path, kind):
    reader = CsvFormat(parser=parser, label="price", chunk_bytes=1 << 14, columns=NUMBERS)
    damage = {
        # zlib's words, or python-isal's where installed (the `fast` extra).
        "gzip": "Error -3 while decompressing data: incorrect data check"
        if decompressed.inflating is zlib
        else "Error -6 Incorrect checksum found",
        "bzip2": "Invalid data stream",
    }
    corrupt = f"is a corrupt {kind} archive: {damage.get(kind, 'Corrupt input data')}"
    lines = b"".join(b"%d,%d,3\n" % (i, i % 7) for i in range(100_000))
    data = COMPRESS[kind](b"a,b,price\n" + lines)
    assert rejection(reader, write(tmp_path / "middle", flipped(data, len(data) // 2), mode="wb")) == corrupt
    # Its bad line is parsed long before the checksum at its end shows the damage, the better reason.
    data = COMPRESS[kind](b"a,b,price\n1,x,3\n" + lines)
    assert rejection(reader, write(tmp_path / "end", flipped(data, len(data) - 8, 2), mode="wb")) == corrupt


def test_what_follows_an_archive_must_be_another_or_gzip_padding(parser, tmp_path):
    reader = CsvFormat(parser=parser, label="price")
    member = write(tmp_path / "m.gz", b"", mode="wb")
    with gzip.GzipFile(member, "wb", mtime=0) as f:  # Its header names the file, as the gzip tool's does.
        f.write(CSV)
    with open(member, "ab") as f:
        f.write(gzip.compress(b"4,5,6\n") + b"\0" * 100 + gzip.compress(b"7,8,9\n"))
    rows = reader.read(member).arrays["float32"]
    np.testing.assert_array_equal(rows, [[1, 2, 3]] * 1000 + [[4, 5, 6], [7, 8, 9]])
    garbage = write(tmp_path / "g.gz", gzip.compress(CSV) + b"garbage", mode="wb")
    assert rejection(reader, garbage) == (
        "is a corrupt gzip archive: what follows a member is not another gzip member"
    )
    for kind, compress in COMPRESS.items():
        # bz2 and lzma leave out what follows the last stream, but not 100 KB of it unread.
        path = write(tmp_path / f"a.{kind}", compress(CSV) + b"x" * 100_000, mode="wb")
        assert rejection(reader, path).startswith(f"is a corrupt {kind} archive: ")


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_compressed_file_is_read_through_gfile_too(parser, tmp_path, kind):
    path = compressed(write(tmp_path / "a.csv", CSV, mode="wb"), kind)
    parsed = CsvFormat(parser=parser, label="price").read("file://" + path)
    assert parsed.num_rows == 1000 and parsed.size == os.path.getsize(path)


def test_a_compressed_file_is_decompressed_as_it_is_read_never_whole(parser, tmp_path):
    # 64 MiB of blank lines in 64 KB, read in chunks of 64 KiB: at no time are many of them held.
    data = gzip.compress(b"a,price\n" + b"\n" * (64 << 20), compresslevel=1)
    path = write(tmp_path / "a.csv.gz", data, mode="wb")
    reader = CsvFormat(parser=parser, label="price", chunk_bytes=1 << 16)
    tracemalloc.start()
    try:
        assert rejection(reader, path) == "the file has a header but no data rows"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


@pytest.mark.parametrize("columns", [NUMBERS, None])
def test_a_file_that_holds_more_than_max_file_bytes_is_rejected_saying_so(parser, tmp_path, columns):
    size = len(CSV)  # 6010 bytes, plain or decompressed.
    plain = write(tmp_path / "a.csv", CSV, mode="wb")
    for path in [plain] + [compressed(plain, kind) for kind in sorted(COMPRESS)]:
        exact = CsvFormat(parser=parser, label="price", columns=columns, max_file_bytes=size)
        assert exact.read(path).num_rows == 1000
        reader = CsvFormat(parser=parser, label="price", columns=columns, max_file_bytes=size - 1)
        kind = path.rsplit(".", 1)[-1]  # `compressed` names a file after its compression.
        once = f" once {kind}-decompressed" if kind in COMPRESS else ""
        assert rejection(reader, path) == (
            f"holds more than {size - 1} bytes{once} (max_file_bytes={size - 1}); "
            "raise max_file_bytes to read it"
        )


def test_lines_appended_past_max_file_bytes_at_once_are_rejected_saying_so(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a,b,price\n1,2,3\n")
    schema = CsvFormat(label="price").read(path).schema
    with open(path, "a") as f:
        f.write("4,5,6\n7,8,9\n")
    reader = CsvFormat(parser=parser, label="price", max_file_bytes=12)
    parsed = reader.read_lines(path, schema, False, {}, 16, 28, first_line=3)
    np.testing.assert_array_equal(parsed.arrays["float32"], [[4, 5, 6], [7, 8, 9]])
    reader = CsvFormat(parser=parser, label="price", max_file_bytes=11)
    with pytest.raises(BadFileError) as error:
        reader.read_lines(path, schema, False, {}, 16, 28, first_line=3)
    assert str(error.value) == (
        "has 12 bytes of new lines, more than max_file_bytes (11) at once; raise max_file_bytes to read them"
    )


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_decompression_bomb_is_inflated_only_up_to_max_file_bytes(tmp_path, kind):
    # 32 MiB of lines in a few kilobytes (32 streams of 1 MiB, as `cat` joins archives): a read
    # stops within one read of the limit, 1 MiB.
    mib = COMPRESS[kind](b"1,2,3\n" * ((1 << 20) // 6))
    bomb = write(tmp_path / "bomb", COMPRESS[kind](b"a,b,price\n") + mib * 32, mode="wb")
    returned = 0
    with open(bomb, "rb") as raw:
        content = decompressed.content_of(raw, max_bytes=1 << 20)
        with pytest.raises(BadFileError, match=f"^holds more than 1048576 bytes once {kind}-decompressed"):
            while data := content.read(1 << 16):
                returned += len(data)
        content.check_archive()  # Its check after a bad line reads no further either.
    assert (1 << 20) - (1 << 16) < returned <= 1 << 20


def test_an_empty_archive_is_an_empty_file_but_a_header_starting_with_bzh_is_read(parser, tmp_path):
    for kind, compress in COMPRESS.items():
        empty = write(tmp_path / f"e.{kind}", compress(b""), mode="wb")
        assert rejection(CsvFormat(parser=parser, label="price"), empty) == "the file is empty"
    plain = write(tmp_path / "p.csv", "BZh9,price\n1,2\n")
    assert CsvFormat(parser=parser, label="price").read(plain).header == ("BZh9", "price")


def test_a_header_longer_than_the_maximum_is_a_reason(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a" * 3000 + ",price\n1,2\n")
    with pytest.raises(BadFileError) as error:
        CsvFormat(parser=parser, label="price", chunk_bytes=1 << 10, max_line_bytes=1 << 10).read(path)
    assert str(error.value) == "line 1 (the header) is longer than the maximum of 1024 bytes (max_line_bytes)"


def test_binary_and_non_utf8_files_are_rejected(parser, tmp_path):
    garbage = write(tmp_path / "g.csv", bytes(range(256)) * 4, mode="wb")
    with pytest.raises(BadFileError):
        CsvFormat(parser=parser, label="price").read(garbage)
    latin1 = write(tmp_path / "l.csv", "a,b,price\n1,2,3\n\xe9,2,3\n".encode("latin-1"), mode="wb")
    with pytest.raises(BadFileError, match="^line 3, column 'a': not valid UTF-8$"):
        CsvFormat(parser=parser, label="price").read(latin1)
    # Bytes that are not UTF-8 in a column no one reads do no harm, on either path.
    ignored = write(tmp_path / "i.csv", "a,note,price\n1,\xe9,3\n".encode("latin-1"), mode="wb")
    parsed = CsvFormat(parser=parser, label="price", columns={"a": "float32", "price": "float32"}).read(
        ignored
    )
    assert parsed.ignored == ("note",) and parsed.num_rows == 1


def test_overlong_line_is_rejected_without_reading_it_whole(parser, tmp_path):
    path = write(tmp_path / "long.csv", "a,b,price\n" + "1" * 5_000_000 + ",2,3\n")
    reader = CsvFormat(parser=parser, label="price", chunk_bytes=1 << 16, max_line_bytes=1 << 20)
    with pytest.raises(BadFileError, match="line 2 is longer than the maximum of 1048576 bytes"):
        reader.read(path)


def test_a_missing_path_or_one_that_is_not_a_regular_file_is_a_bad_file(parser, tmp_path):
    with pytest.raises(BadFileError, match="vanished while being read"):
        CsvFormat(parser=parser, label="price").read(str(tmp_path / "missing.csv"))
    os.mkfifo(tmp_path / "pipe.csv")  # Opening it to read would block until a writer came.
    (tmp_path / "folder.csv").mkdir()
    for name in ("pipe.csv", "folder.csv"):
        with pytest.raises(BadFileError, match="is not a regular file"):
            CsvFormat(parser=parser, label="price").read(str(tmp_path / name))


def test_label_none_keeps_every_column_as_a_feature(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a,b\n1,2\n")
    np.testing.assert_array_equal(CsvFormat(parser=parser, label=None).read(path).arrays["float32"], [[1, 2]])


def test_a_header_too_large_for_the_csv_module_is_a_reason_and_a_long_field_is_kept(parser, tmp_path):
    header = write(tmp_path / "h.csv", "a," + "b" * 200_000 + ",price\n1,2,3\n")
    with pytest.raises(
        BadFileError, match=r"line 1 \(the header\) is not CSV: field larger than field limit"
    ):
        CsvFormat(parser=parser, label="price").read(header)
    field = write(tmp_path / "f.csv", "a,b,price\n1," + "x" * 200_000 + ",3\n")
    parsed = CsvFormat(parser=parser, label="price").read(field)
    assert parsed.strings["b"] == ("x" * 200_000,)


def test_a_long_line_inside_one_read_is_caught_too(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a,b,price\n1,2,3\n" + "1" * 500 + ",2,3\n4,5,6\n")
    with pytest.raises(BadFileError, match="line 3 is longer than the maximum of 100 bytes"):
        CsvFormat(parser=parser, label="price", max_line_bytes=100).read(path)
    fine = write(tmp_path / "b.csv", "a,b,price\n" + "1,2,3\n" * 100)
    assert CsvFormat(parser=parser, label="price", max_line_bytes=100).read(fine).arrays["float32"].shape == (
        100,
        3,
    )


def test_values_python_reads_but_tensorflow_refuses_are_named(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a,b,price\n1,1_000,3\n")
    with pytest.raises(BadFileError, match=r"^line 2, column 'b': expected a number, found '1_000'$"):
        CsvFormat(parser=parser, label="price", columns=NUMBERS).read(path)
    assert CsvFormat(parser=parser, label="price").read(path).schema.dtypes["b"] == "string"


def test_line_numbers_stay_exact_across_many_chunks_and_blank_lines(parser, tmp_path):
    lines = ["a,b,price"] + [f"{i},{i % 7},{i % 3}" for i in range(60_000)]
    lines[20_000] = ""  # A blank line sends its chunk to TensorFlow; the count must not drift.
    lines[45_001] = "1,oops,3"
    path = write(tmp_path / "a.csv", "\n".join(lines) + "\n")
    reader = CsvFormat(parser=parser, label="price", chunk_bytes=1 << 14, columns=NUMBERS)
    with pytest.raises(BadFileError, match=r"^line 45002, column 'b': expected a number, found 'oops'$"):
        reader.read(path)
    lines[45_001] = "1,2,3"
    lines.append("1" * 300 + ",2,3")
    write(tmp_path / "a.csv", "\n".join(lines) + "\n")
    with pytest.raises(BadFileError, match="^line 60002 is longer than the maximum of 200 bytes"):
        CsvFormat(parser=parser, label="price", chunk_bytes=1 << 14, max_line_bytes=200).read(path)


def test_skipped_rows_are_named_by_their_line_on_both_paths(parser, tmp_path):
    lines = ["a,b,price"] + [f"{i},1,2" for i in range(30_000)]
    for bad in (3, 12_345, 29_999):
        lines[bad] = f"{bad},TRUE,2"
    path = write(tmp_path / "a.csv", "\n".join(lines))
    reader = CsvFormat(parser=parser, label="price", chunk_bytes=1 << 14, columns=NUMBERS)
    parsed = reader.read(path, skip_bad_rows=True)
    assert [row.line for row in parsed.skipped] == [4, 12_346, 30_000]
    assert parsed.arrays["float32"].shape == (29_997, 3)
    np.testing.assert_array_equal(parsed.arrays["float32"][:3, 0], [0, 1, 3])


def test_pandas_parser_must_be_installed_when_asked_for():
    if pandas is None:
        with pytest.raises(ImportError, match=r"keras-growing-data\[fast\]"):
            CsvFormat(label="price", parser="pandas")
    with pytest.raises(ValueError, match="parser must be one of 'auto', 'pandas', 'tensorflow', got 'arrow'"):
        CsvFormat(label="price", parser="arrow")


FIELDS = [
    "1", "-0", "+1", "1.", ".5", "00012", "1E5", "0.1e-3", "1e-50", "1e-45", "3.4028235e38",
    "3.4028236e38", "1e39", "  1.5", "1.5  ", "\t1.5", " ", "", "-", "+", ".", "..1", "1e", "1e+",
    "e1", "--1", "+-1", "1-", "1.2.3", "1e5e5", "1.5 2", "nan", "NaN", "inf", "-inf", "Infinity",
    "TRUE", "true", "False", "NA", "null", "None", "0x10", "1_000", "1d5", "1.5f", "#1", "'1'",
    "\x0b1", "1\x0c", "\u00a01", "\uff11", "\u00bd",
]  # fmt: skip


def plan_of(header, columns=None, defaults=None, na_values=None):
    """The chunk plan of a header, as a reader makes it."""
    schema = check_columns(columns, ()) or Schema(tuple((name, "float32") for name in header))
    return match_header(header, schema, defaults or {}, check_na_values(na_values))[0]


@needs_pandas
def test_pandas_accepts_only_fields_tensorflow_accepts_with_equal_values():
    rng = random.Random(0)
    # Number syntax, and the letters of the words pandas might read as numbers (true, inf, nan, ...).
    alphabet = "0123456789+-.eE \t" + "aAfFtTnNxXiIrRuUlLsSyYdDpP_#"
    fuzzed = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7))) for _ in range(6000)]
    defaults = [tf.constant([], tf.float32)] * 2
    plan = plan_of(["a", "b"])
    taken = 0
    for field in FIELDS + fuzzed:
        line = f"{field},1".encode()
        fast = parse_chunk_with_pandas(pandas, line, plan)
        if fast is None:
            continue
        taken += 1
        try:
            reference = tf.stack(tf.io.decode_csv([line], defaults), axis=1).numpy()
        except tf.errors.InvalidArgumentError:
            pytest.fail(f"pandas accepted {field!r}, which TensorFlow refuses")
        # The fast path gives float64, which the reader narrows (or sends to TensorFlow near a midpoint).
        np.testing.assert_array_equal(fast[0][0].astype(np.float32), reference, err_msg=repr(field))
    assert taken > 300  # The fuzz reaches the fast path often enough to mean something.


@needs_pandas
def test_fast_path_takes_chunks_without_quotes_and_leaves_the_rest():
    plan = plan_of(["a", "b"])
    arrays, strings = parse_chunk_with_pandas(pandas, b"1,2.5\n-3e2, 4\n", plan)
    np.testing.assert_array_equal(arrays[0], [[1, 2.5], [-300, 4]])
    assert strings == ()
    refused = [
        b'"1",2',
        b"TRUE,2",
        b"1,2\r\n3,4",
        b"1,2\n\n3,4",
        b"1,2\n3",
        b"1,2,3",
        b"nan,1",
        b"1e39,1",
        b"1,",
    ]
    for chunk in refused:
        assert parse_chunk_with_pandas(pandas, chunk, plan) is None, chunk
    # A line of another width is refused even where only some columns are read.
    narrow = plan_of(["a", "b", "c"], columns={"a": "float32", "c": "string"})
    assert parse_chunk_with_pandas(pandas, b"1,2,3\n4,5\n", narrow) is None
    assert parse_chunk_with_pandas(pandas, b"1,2,3\n4,5,6,7\n", narrow) is None
    arrays, strings = parse_chunk_with_pandas(pandas, b"1,2,007\n4,5, 6\n", narrow)
    np.testing.assert_array_equal(arrays[0], [[1], [4]])
    assert strings == (("007", " 6"),)
    # String columns: text as written, distinct strings in order first seen; a short line's
    # padding, a missing string, quotes and booleans are left to TensorFlow.
    mixed = plan_of(["a", "city"], columns={"a": "float32", "city": "string"})
    arrays, strings = parse_chunk_with_pandas(pandas, b"1,Oslo\n2, Lima \n3,Oslo\n", mixed)
    np.testing.assert_array_equal(arrays[1], [[0], [1], [0]])
    assert strings == (("Oslo", " Lima "),)
    for chunk in [b"1,Oslo\n2\n", b"1,NA\n", b"1,\n", b'1,"Oslo"\n', b"1,True Value\n", b"TRUE,x\n"]:
        assert parse_chunk_with_pandas(pandas, chunk, mixed) is None, chunk
    assert takes_plan(plan) and takes_plan(narrow)  # pandas' NaN spellings are no numbers it could misread.
    assert not takes_plan(plan_of(["a", "b"], columns={"a": "int64", "b": "float32"}))
    assert not takes_plan(plan_of(["a", "b"], na_values=["-999"]))


def test_both_parsers_read_the_same_values(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(scale=1e3, size=(20_000, 4)).astype(np.float32)
    path = str(tmp_path / "a.csv")
    np.savetxt(path, values, delimiter=",", fmt="%.9g", header="a,b,c,price", comments="")
    by_tensorflow = CsvFormat(label="price", parser="tensorflow").read(path).arrays["float32"]
    np.testing.assert_array_equal(by_tensorflow, values)
    if pandas is not None:
        by_pandas = CsvFormat(label="price", parser="pandas").read(path).arrays["float32"]
        np.testing.assert_array_equal(by_pandas, values)


MIXED = (
    'id,city,area,rooms,note\n1,Austin, 3.5,2,"a, b"\n2,"New York, NY",,3,"say ""hi"""\n3, Austin ,7,NA,\n'
)


def test_a_mixed_file_infers_float_and_string_columns(parser, tmp_path):
    path = write(tmp_path / "a.csv", MIXED)
    reader = CsvFormat(parser=parser, label="area", defaults={"area": -1.0, "rooms": 0, "note": "[UNK]"})
    parsed = reader.read(path)
    assert parsed.schema.dtypes == {
        "id": "float32", "city": "string", "area": "float32", "rooms": "float32", "note": "string"
    }  # fmt: skip
    # Features first (id, rooms), then the label; strings as indices into the file's distinct strings.
    np.testing.assert_array_equal(parsed.arrays["float32"], [[1, 2, 3.5], [2, 3, -1], [3, 0, 7]])
    assert parsed.strings == {
        "city": ("Austin", "New York, NY", " Austin "),
        "note": ("a, b", 'say "hi"', "[UNK]"),
    }
    np.testing.assert_array_equal(parsed.arrays["string"], [[0, 0], [1, 1], [2, 2]])


def test_columns_are_matched_by_name_and_extra_ones_ignored(parser, tmp_path):
    columns = {"rooms": "int64", "city": "string", "area": "float32"}
    first = CsvFormat(parser=parser, label="area", columns=columns).read(
        write(tmp_path / "a.csv", "area,city,rooms,extra\n1.5,Oslo,2,x\n")
    )
    second = CsvFormat(parser=parser, label="area", columns=columns).read(
        write(tmp_path / "b.csv", " rooms , area ,city\n2,1.5,Oslo\n")
    )
    for parsed in (first, second):
        assert parsed.schema.names == ("rooms", "city", "area")
        np.testing.assert_array_equal(parsed.arrays["int64"], [[2]])
        np.testing.assert_array_equal(parsed.arrays["float32"], [[1.5]])
        assert parsed.strings == {"city": ("Oslo",)}
    assert first.ignored == ("extra",) and second.ignored == ()


def test_a_missing_column_is_filled_from_its_default_or_named(parser, tmp_path):
    path = write(tmp_path / "a.csv", "area,Rooms,city\n1.5,2,Oslo\n2.5,3,Lima\n")
    columns = {"rooms": "int64", "city": "string", "area": "float32"}
    with pytest.raises(BadFileError) as error:
        CsvFormat(parser=parser, label="area", columns=columns).read(path)
    assert str(error.value) == (
        "the header has no column ['rooms'] of the schema, and no default fills it "
        "(did you mean 'Rooms'?); it has ['area', 'Rooms', 'city']"
    )
    reader = CsvFormat(parser=parser, label="area", columns=columns, defaults={"rooms": 1})
    parsed = reader.read(path)
    np.testing.assert_array_equal(parsed.arrays["int64"], [[1], [1]])
    assert parsed.strings == {"city": ("Oslo", "Lima")} and parsed.ignored == ("Rooms",)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("n,y\n1.0,2\n", r"^line 2, column 'n': expected an integer \(int64\), found '1.0'$"),
        ("n,y\n1e3,2\n", r"^line 2, column 'n': expected an integer \(int64\), found '1e3'$"),
        ("n,y\n9223372036854775808,2\n", r"^line 2, column 'n': expected an integer \(int64\)"),
        ("n,y\n1,\n", r"^line 2, column 'y': missing value '', and the column has no default$"),
    ],
)
def test_integer_columns_take_integers_only(parser, tmp_path, text, reason):
    path = write(tmp_path / "a.csv", text)
    with pytest.raises(BadFileError, match=reason):
        CsvFormat(parser=parser, label="y", columns={"n": "int64", "y": "float32"}).read(path)
    fine = write(tmp_path / "b.csv", "n,y\n-9223372036854775808,1\n +7 ,2\n")
    parsed = CsvFormat(parser=parser, label="y", columns={"n": "int64", "y": "float32"}).read(fine)
    np.testing.assert_array_equal(parsed.arrays["int64"], [[-(2**63)], [7]])


def test_a_nan_default_keeps_nan_and_own_missing_spellings_replace_pandas(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a,b,price\n1,-999,3\n2,NA,4\n,5,6\n")
    parsed = CsvFormat(
        parser=parser, label="price", defaults={"a": float("nan")}, na_values=["-999", "NA"]
    ).read(path, skip_bad_rows=True)
    # -999 is missing and b has no default: line 2 is bad; "" is always missing.
    assert [(row.line, row.reason) for row in parsed.skipped] == [
        (2, "column 'b': missing value '-999', and the column has no default"),
        (3, "column 'b': missing value 'NA', and the column has no default"),
    ]
    np.testing.assert_array_equal(parsed.arrays["float32"], [[np.nan, 5, 6]])
    with pytest.raises(BadFileError, match="line 3, column 'a': expected a number, found 'N/A'"):
        CsvFormat(
            parser=parser, label="price", na_values=["NA"], columns={"a": "float32", "price": "float32"}
        ).read(write(tmp_path / "b.csv", "a,price\n1,2\nN/A,3\n"))


def test_defaults_must_fit_their_column(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a,city,price\n1,Oslo,3\n")
    with pytest.raises(BadFileError, match="the default of float32 column 'a' must be a number, got 'x'"):
        CsvFormat(parser=parser, label="price", defaults={"a": "x"}).read(path)
    # A default for a column the first file lacks puts that column in the inferred schema.
    parsed = CsvFormat(parser=parser, label="price", defaults={"b": 1}).read(path)
    assert parsed.schema.names == ("a", "city", "price", "b")
    np.testing.assert_array_equal(parsed.arrays["float32"], [[1, 1, 3]])
    with pytest.raises(ValueError, match="the default of int64 column 'a' must be an integer, got 1.5"):
        CsvFormat(label="price", columns={"a": "int64", "price": "float32"}, defaults={"a": 1.5})
    with pytest.raises(ValueError, match="columns must declare the label columns too; it lacks"):
        CsvFormat(label="price", columns={"a": "int64"})
    with pytest.raises(
        ValueError, match="the type of 'a' must be one of 'float32', 'int64', 'string', got 'int'"
    ):
        CsvFormat(label="price", columns={"a": "int", "price": "float32"})


# Values a typed file's fields are drawn from: numbers and what is not,
# missing-value spellings, quotes, embedded commas and spaces.
VALUES = FIELDS + [
    '"1.5"', '"a,b"', '"say ""hi"""', '""', '"', 'a"b', ' "x"', '"x" ', "x y", "  NA ", "N/A", "<NA>",
    "#N/A", "None", "NULL", "n/a", "-nan", "Oslo", "São Paulo", "日本", '"multi, comma, field"', "-999",
    "\u00a0", "NA\u00a0", "1\u00a0",
]  # fmt: skip


def expected_value(field, dtype, default):
    """An unquoted field's value by the documented rules, or None for a bad one."""
    if field.strip(SPACES) in check_na_values(None):
        return default
    if value_problem(field, dtype) is not None:
        return None
    if dtype == "float32":
        text = field.strip()
        return np.float32(float.fromhex(text) if "x" in text.lower() else float(text))
    return int(field) if dtype == "int64" else field


def test_every_parser_reads_fuzzed_typed_files_by_the_documented_rules(tmp_path):
    rng = random.Random(1)
    columns = {"f": "float32", "s": "string", "i": "int64", "y": "float32"}
    defaults = {"s": "[UNK]", "i": -1}
    lines = []
    for _ in range(3000):
        fields = [rng.choice(VALUES) for _ in columns]
        if rng.random() < 0.5:
            fields[2] = str(rng.randint(-99, 99))
        lines.append(",".join(fields))
    path = write(tmp_path / "fuzz.csv", "f,s,i,y\n" + "\n".join(lines) + "\n")
    results = {}
    for parser in ["tensorflow"] + (["pandas"] if pandas is not None else []):
        reader = CsvFormat(label="y", columns=columns, defaults=defaults, parser=parser, chunk_bytes=1 << 12)
        results[parser] = reader.read(path, skip_bad_rows=True)
    reference = results["tensorflow"]
    for parsed in results.values():
        assert parsed.skipped == reference.skipped
        for dtype in ("float32", "int64", "string"):
            np.testing.assert_array_equal(parsed.arrays[dtype], reference.arrays[dtype])
        assert parsed.strings == reference.strings
    # Lines without quotes are judged here by the documented rules (quoting
    # is fuzzed against decode_csv in test_line_checks).
    skipped = {row.line for row in reference.skipped}
    kept = [number for number in range(2, len(lines) + 2) if number not in skipped]
    judged = 0
    for number, line in enumerate(lines, start=2):
        if '"' in line:
            continue
        fields = line.split(",")
        row = [None]
        if len(fields) == len(columns):
            row = [
                expected_value(f, t, defaults.get(n))
                for f, (n, t) in zip(fields, columns.items(), strict=True)
            ]
        if None in row:
            assert number in skipped, line
            continue
        judged += 1
        k = kept.index(number)
        f, y = reference.arrays["float32"][k]
        np.testing.assert_array_equal([f, y], [row[0], row[3]], err_msg=line)
        assert reference.arrays["int64"][k, 0] == row[2], line
        assert reference.strings["s"][reference.arrays["string"][k, 0]] == row[1], line
    assert judged > 100 and len(skipped) > 200  # Both kinds are common enough to mean something.


def test_long_and_midpoint_values_read_as_tensorflow_rounds_them_straight_to_float32(parser, tmp_path):
    rng = np.random.default_rng(0)
    low = rng.uniform(0, 1, 5000).astype(np.float32)
    high = np.nextafter(low, np.float32(np.inf))
    # float64 midpoints between adjacent float32s, written as repr writes them: rounded to float64
    # first, then to float32, about half of them round to the other neighbour.
    midpoints = [repr((float(a) + float(b)) / 2) for a, b in zip(low, high, strict=True)]
    long = [f"{v:.20g}" for v in rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000)]
    fields = midpoints + long
    lines = [f"{field},{i}" for i, field in enumerate(fields)]
    path = write(tmp_path / "a.csv", "x,price\n" + "\n".join(lines) + "\n")
    parsed = CsvFormat(parser=parser, label="price").read(path)
    reference = tf.io.decode_csv(lines, [tf.constant([], tf.float32)] * 2)
    np.testing.assert_array_equal(parsed.arrays["float32"][:, 0], reference[0].numpy())
    np.testing.assert_array_equal(parsed.arrays["float32"][:, 1], np.arange(len(fields), dtype=np.float32))
    rounded_twice = np.array([np.float32(float(m)) for m in midpoints])
    assert (rounded_twice != reference[0].numpy()[:5000]).sum() > 1000  # The case is really there.


def test_what_float32_changes_is_noted_by_both_parsers(parser, tmp_path):
    path = write(tmp_path / "a.csv", "x,price\n16777217,1\n1e-50,2\n2,1e-300\n")
    parsed = CsvFormat(parser=parser, label="price").read(path)
    assert parsed.arrays["float32"].tolist() == [[16777216, 1], [0, 2], [2, 0]]
    assert parsed.notes == (
        "column 'x': 1 integer value(s) beyond 2^24 are not exact in float32 (16777217 became 16777216); "
        "declare the column int64 to keep them",
        "column 'x': 1 non-zero value(s) are below float32's range and became 0 (the first: 1e-50)",
        "column 'price': 1 non-zero value(s) are below float32's range and became 0 (the first: 1e-300)",
    )


def test_gzip_reads_alike_through_zlib_and_python_isal(tmp_path, monkeypatch):
    pytest.importorskip("isal")
    lines = b"".join(b"%d,%d,3\n" % (i, i % 7) for i in range(50_000))
    members = gzip.compress(b"a,b,price\n" + lines[:1000]) + gzip.compress(lines[1000:]) + b"\0" * 64
    path = tmp_path / "a.csv.gz"
    path.write_bytes(members)
    broken = tmp_path / "b.csv.gz"
    broken.write_bytes(members[: len(members) // 2])
    reader = CsvFormat(label="price", chunk_bytes=1 << 14, columns=NUMBERS)
    read = {}
    for inflating in (zlib, decompressed.inflating):
        monkeypatch.setattr(decompressed, "inflating", inflating)
        read[inflating] = reader.read(str(path)).arrays["float32"]
        with pytest.raises(BadFileError, match="^is a truncated gzip archive"):
            reader.read(str(broken))
    first, second = read.values()
    assert first.shape == (50_000, 3)
    np.testing.assert_array_equal(first, second)
