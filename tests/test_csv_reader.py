import bz2
import gzip
import lzma
import random
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from keras_growing_data.sources.csv_reader import CsvReader
from keras_growing_data.sources.header import header_difference
from keras_growing_data.sources.pandas_parser import PLAIN_BYTES, load_pandas, parse_plain_chunk
from keras_growing_data.sources.records import BadFileError

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


def test_columns_are_reordered_features_first_then_labels(parser, tmp_path):
    path = write(tmp_path / "a.csv", "price,a,b\n1,2,3\n4,5,6\n")
    parsed = CsvReader(parser=parser, label="price").read(path)
    assert parsed.columns == ("price", "a", "b")
    np.testing.assert_array_equal(parsed.rows.numpy(), [[2, 3, 1], [5, 6, 4]])


def test_several_labels_keep_their_given_order(parser, tmp_path):
    path = write(tmp_path / "a.csv", "y1,a,y2\n1,2,3\n")
    rows = CsvReader(parser=parser, label=["y2", "y1"]).read(path).rows.numpy()
    np.testing.assert_array_equal(rows, [[2, 3, 1]])


def test_large_file_spans_many_parallel_chunks(parser, tmp_path):
    values = np.arange(300_000, dtype=np.float32).reshape(-1, 3)
    path = str(tmp_path / "big.csv")
    np.savetxt(path, values, delimiter=",", fmt="%d", header="a,b,price", comments="")
    reader = CsvReader(parser=parser, label="price", chunk_bytes=1 << 16)
    rows = reader.read(path).rows.numpy()
    np.testing.assert_array_equal(rows, values)


def test_csv_as_people_write_it(parser, tmp_path):
    text = '\ufeff"a", "b,c" ,price\r\n1, 2.5, 3\r\n"4",5,6\r\n\r\n\n7,8,9'
    path = write(tmp_path / "a.csv", text, mode="w")
    parsed = CsvReader(parser=parser, label="price").read(path)
    assert parsed.columns == ("a", "b,c", "price")
    np.testing.assert_array_equal(parsed.rows.numpy(), [[1, 2.5, 3], [4, 5, 6], [7, 8, 9]])


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
        ("a,b,price\n1,2,3\n4,x,6\n", r"line 3, column 'b': expected a number, found 'x'"),
        ("a,b,price\n1,2,3\n4,5\n", "line 3: expected 3 fields, found 2"),
        ("a,b,price\n1,2,3,4\n", "line 2: expected 3 fields, found 4"),
        ("a,b,price\n1,,3\n", r"line 2, column 'b': expected a number, found ''"),
        ("a,b,price\n1,2,3\n\n1,nan,3\n", r"line 4, column 'b': expected a finite number, found 'nan'"),
        ("a,b,price\n1,2,inf\n", r"line 2, column 'price': expected a finite number"),
    ],
)
def test_bad_files_are_rejected_with_line_and_column(parser, tmp_path, text, reason):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(BadFileError, match=reason):
        CsvReader(parser=parser, label="price").read(path)


def test_header_must_match_the_schema(parser, tmp_path):
    path = write(tmp_path / "a.csv", "b,a,price\n1,2,3\n")
    with pytest.raises(BadFileError) as error:
        CsvReader(parser=parser, label="price").read(path, columns=("a", "b", "price"))
    assert str(error.value) == (
        "the header differs from the schema set by the first accepted file: "
        "'b' is column 1 (the schema has it at 2), 'a' is column 2 (the schema has it at 1)"
    )


SCHEMA = [f"c{i}" for i in range(1, 31)] + ["price"]


def test_a_wide_header_unlike_the_schema_names_only_what_differs(parser, tmp_path):
    header = list(SCHEMA)
    header[2] = "C3"  # Renamed.
    del header[9]  # c10 is missing, so every later column shifts left...
    header.insert(19, "new")  # ...until this extra one.
    path = write(tmp_path / "a.csv", ",".join(header) + "\n" + ",".join(["1"] * 31) + "\n")
    with pytest.raises(BadFileError) as error:
        CsvReader(parser=parser, label="price").read(path, columns=SCHEMA)
    reason = str(error.value)
    assert reason == (
        "the header differs from the schema set by the first accepted file: "
        "column 3 is 'C3' where the schema has 'c3'; missing 'c10' (schema column 10); "
        "extra 'new' (column 20)"
    )
    assert len(reason) < 300 and len(reason.splitlines()) <= 3


def test_forty_extra_columns_are_counted_not_listed(parser, tmp_path):
    header = SCHEMA + [f"extra{i}" for i in range(40)]
    path = write(tmp_path / "a.csv", ",".join(header) + "\n" + ",".join(["1"] * 71) + "\n")
    with pytest.raises(BadFileError) as error:
        CsvReader(parser=parser, label="price").read(path, columns=SCHEMA)
    assert str(error.value).endswith(
        "extra 'extra0' (column 32), 'extra1' (column 33), 'extra2' (column 34), "
        "'extra3' (column 35), 'extra4' (column 36) and 35 more"
    )


@pytest.mark.parametrize(
    "found, difference",
    [
        ("x,id,price", "'x' is column 1 (the schema has it at 2), 'id' is column 2 (the schema has it at 1)"),
        (
            "x,price,id",
            "'x' is column 1 (the schema has it at 2), 'price' is column 2 (the schema has it at 3), "
            "'id' is column 3 (the schema has it at 1)",
        ),
        (
            "price,x,id",
            "'price' is column 1 (the schema has it at 3), 'id' is column 3 (the schema has it at 1)",
        ),
        ("id,x", "missing 'price' (schema column 3)"),
        ("id,x,price,y", "extra 'y' (column 4)"),
        ("x,price", "missing 'id' (schema column 1)"),
        (
            "ID,x,Price",
            "column 1 is 'ID' where the schema has 'id', column 3 is 'Price' where the schema has 'price'",
        ),
        ("y,id,price", "missing 'x' (schema column 2); extra 'y' (column 1)"),
    ],
)
def test_header_difference_names_moved_missing_extra_and_renamed_columns(found, difference):
    assert header_difference(["id", "x", "price"], found.split(",")) == difference


def test_header_difference_stays_short_however_much_differs():
    schema = [f"c{i}" for i in range(100)]
    assert header_difference(schema, schema[::-1]).endswith(" and 95 more moved")
    renamed = header_difference(schema, [name.upper() for name in schema])
    assert renamed.startswith("column 1 is 'C0' where the schema has 'c0', column 2 is 'C1'")
    assert renamed.endswith(" and 95 more renamed")
    assert header_difference(schema, schema[:10]).endswith("'c14' (schema column 15) and 85 more")
    # A column left in place is not said to have moved, though the ones around it were.
    assert header_difference(["a", "b", "c"], ["c", "b", "a"]) == (
        "'c' is column 1 (the schema has it at 3), 'a' is column 3 (the schema has it at 1)"
    )


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
        CsvReader(parser=parser, label="price").read(path)
    assert str(error.value) == "the header has " + reason


def test_several_missing_labels_each_get_their_closest_column(parser, tmp_path):
    path = write(tmp_path / "a.csv", "Y1,a,y_3\n1,2,3\n")
    with pytest.raises(BadFileError) as error:
        CsvReader(parser=parser, label=["y1", "y2", "y3"]).read(path)
    assert str(error.value) == (
        "the header has no label column ['y1', 'y2', 'y3'] (did you mean 'Y1' for 'y1', 'y_3' for 'y3'?); "
        "it has ['Y1', 'a', 'y_3']"
    )


def test_repeated_and_empty_column_names_are_listed_briefly(parser, tmp_path):
    names = [f"n{i}" for i in range(12)]
    repeats = write(tmp_path / "r.csv", ",".join(names * 2 + ["price"]) + "\n" + ",".join(["1"] * 25) + "\n")
    with pytest.raises(BadFileError) as error:
        CsvReader(parser=parser, label="price").read(repeats)
    assert str(error.value) == "the header repeats column names ['n0', 'n1', 'n2', 'n3', 'n4'] and 7 more"
    one = write(tmp_path / "o.csv", "a,,price\n1,2,3\n")
    with pytest.raises(BadFileError) as error:
        CsvReader(parser=parser, label="price").read(one)
    assert str(error.value) == "line 1 (the header) has an empty column name (column 2)"
    several = write(tmp_path / "s.csv", "a" + "," * 39 + "price\n" + ",".join(["1"] * 40) + "\n")
    with pytest.raises(BadFileError) as error:
        CsvReader(parser=parser, label="price").read(several)
    assert str(error.value) == (
        "line 1 (the header) has empty column names (columns 2, 3, 4, 5, 6 and 33 more)"
    )
    blank = write(tmp_path / "b.csv", "\n1,2,3\n")
    with pytest.raises(BadFileError, match=r"^line 1 \(the header\) is blank$"):
        CsvReader(parser=parser, label="price").read(blank)


CSV = b"a,b,price\n" + b"1,2,3\n" * 1000
COMPRESSED = {
    "gzip": gzip.compress(CSV),
    "bzip2": bz2.compress(CSV),
    "xz": lzma.compress(CSV),
    "zstd": b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 4,
    "zip": None,  # Written by zipfile, below.
}


@pytest.mark.parametrize("kind", sorted(COMPRESSED))
def test_compressed_files_are_named_as_such(parser, tmp_path, kind):
    path = tmp_path / "a.csv.compressed"
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("a.csv", CSV)
    else:
        write(path, COMPRESSED[kind], mode="wb")
    with pytest.raises(BadFileError) as error:
        CsvReader(parser=parser, label="price").read(str(path))
    assert str(error.value) == (
        f"looks {kind}-compressed (its first bytes are {kind}'s magic number); compressed files are not "
        "read yet: decompress it, or match only plain files with the pattern"
    )


def test_an_empty_bzip2_stream_is_named_but_a_header_starting_with_bzh_is_read(parser, tmp_path):
    empty = write(tmp_path / "e.bz2", bz2.compress(b""), mode="wb")
    with pytest.raises(BadFileError, match="^looks bzip2-compressed"):
        CsvReader(parser=parser, label="price").read(empty)
    plain = write(tmp_path / "p.csv", "BZh9,price\n1,2\n")
    assert CsvReader(parser=parser, label="price").read(plain).columns == ("BZh9", "price")


def test_a_header_longer_than_the_maximum_is_a_reason(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a" * 3000 + ",price\n1,2\n")
    with pytest.raises(BadFileError) as error:
        CsvReader(parser=parser, label="price", chunk_bytes=1 << 10, max_line_bytes=1 << 10).read(path)
    assert str(error.value) == "line 1 (the header) is longer than the maximum of 1024 bytes (max_line_bytes)"


def test_binary_and_non_utf8_files_are_rejected(parser, tmp_path):
    garbage = write(tmp_path / "g.csv", bytes(range(256)) * 4, mode="wb")
    with pytest.raises(BadFileError):
        CsvReader(parser=parser, label="price").read(garbage)
    latin1 = write(tmp_path / "l.csv", "a,b,price\n1,2,3\n\xe9,2,3\n".encode("latin-1"), mode="wb")
    with pytest.raises(BadFileError, match="line 3: not valid UTF-8"):
        CsvReader(parser=parser, label="price").read(latin1)


def test_overlong_line_is_rejected_without_reading_it_whole(parser, tmp_path):
    path = write(tmp_path / "long.csv", "a,b,price\n" + "1" * 5_000_000 + ",2,3\n")
    reader = CsvReader(parser=parser, label="price", chunk_bytes=1 << 16, max_line_bytes=1 << 20)
    with pytest.raises(BadFileError, match="line 2 is longer than the maximum of 1048576 bytes"):
        reader.read(path)


def test_unreadable_path_is_a_bad_file(parser, tmp_path):
    with pytest.raises(BadFileError, match="cannot be read"):
        CsvReader(parser=parser, label="price").read(str(tmp_path / "missing.csv"))


def test_label_none_keeps_every_column_as_a_feature(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a,b\n1,2\n")
    np.testing.assert_array_equal(CsvReader(parser=parser, label=None).read(path).rows.numpy(), [[1, 2]])


def test_fields_too_large_for_the_csv_module_are_reasons_not_crashes(parser, tmp_path):
    header = write(tmp_path / "h.csv", "a," + "b" * 200_000 + ",price\n1,2,3\n")
    with pytest.raises(
        BadFileError, match=r"line 1 \(the header\) is not CSV: field larger than field limit"
    ):
        CsvReader(parser=parser, label="price").read(header)
    field = write(tmp_path / "f.csv", "a,b,price\n1," + "9" * 200_000 + ",3\n")
    with pytest.raises(BadFileError, match="line 2: not CSV: field larger than field limit"):
        CsvReader(parser=parser, label="price").read(field)


def test_a_long_line_inside_one_read_is_caught_too(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a,b,price\n1,2,3\n" + "1" * 500 + ",2,3\n4,5,6\n")
    with pytest.raises(BadFileError, match="line 3 is longer than the maximum of 100 bytes"):
        CsvReader(parser=parser, label="price", max_line_bytes=100).read(path)
    fine = write(tmp_path / "b.csv", "a,b,price\n" + "1,2,3\n" * 100)
    assert CsvReader(parser=parser, label="price", max_line_bytes=100).read(fine).rows.shape == (100, 3)


def test_values_only_tensorflow_refuses_still_get_a_reason(parser, tmp_path):
    path = write(tmp_path / "a.csv", "a,b,price\n1,1_000,3\n")
    with pytest.raises(BadFileError, match="Field 1 in record 0 is not a valid float: 1_000"):
        CsvReader(parser=parser, label="price").read(path)


def test_line_numbers_stay_exact_across_many_chunks_and_blank_lines(parser, tmp_path):
    lines = ["a,b,price"] + [f"{i},{i % 7},{i % 3}" for i in range(60_000)]
    lines[20_000] = ""  # A blank line sends its chunk to TensorFlow; the count must not drift.
    lines[45_001] = "1,oops,3"
    path = write(tmp_path / "a.csv", "\n".join(lines) + "\n")
    reader = CsvReader(parser=parser, label="price", chunk_bytes=1 << 14)
    with pytest.raises(BadFileError, match=r"^line 45002, column 'b': expected a number, found 'oops'$"):
        reader.read(path)
    lines[45_001] = "1,2,3"
    lines.append("1" * 300 + ",2,3")
    write(tmp_path / "a.csv", "\n".join(lines) + "\n")
    with pytest.raises(BadFileError, match="^line 60002 is longer than the maximum of 200 bytes"):
        CsvReader(parser=parser, label="price", chunk_bytes=1 << 14, max_line_bytes=200).read(path)


def test_skipped_rows_are_named_by_their_line_on_both_paths(parser, tmp_path):
    lines = ["a,b,price"] + [f"{i},1,2" for i in range(30_000)]
    for bad in (3, 12_345, 29_999):
        lines[bad] = f"{bad},TRUE,2"
    path = write(tmp_path / "a.csv", "\n".join(lines))
    parsed = CsvReader(parser=parser, label="price", chunk_bytes=1 << 14).read(path, skip_bad_rows=True)
    assert [row.line for row in parsed.skipped] == [4, 12_346, 30_000]
    assert parsed.rows.shape == (29_997, 3)
    np.testing.assert_array_equal(parsed.rows.numpy()[:3, 0], [0, 1, 3])


def test_pandas_parser_must_be_installed_when_asked_for():
    if pandas is None:
        with pytest.raises(ImportError, match=r"keras-growing-data\[fast\]"):
            CsvReader(label="price", parser="pandas")
    with pytest.raises(ValueError, match="parser must be one of 'auto', 'pandas', 'tensorflow', got 'arrow'"):
        CsvReader(label="price", parser="arrow")


FIELDS = [
    "1", "-0", "+1", "1.", ".5", "00012", "1E5", "0.1e-3", "1e-50", "1e-45", "3.4028235e38",
    "3.4028236e38", "1e39", "  1.5", "1.5  ", "\t1.5", " ", "", "-", "+", ".", "..1", "1e", "1e+",
    "e1", "--1", "+-1", "1-", "1.2.3", "1e5e5", "1.5 2", "nan", "NaN", "inf", "-inf", "Infinity",
    "TRUE", "true", "False", "NA", "null", "None", "0x10", "1_000", "1d5", "1.5f", "#1", "'1'",
    "\x0b1", "1\x0c", "\u00a01", "\uff11", "\u00bd",
]  # fmt: skip


@needs_pandas
def test_pandas_accepts_only_fields_tensorflow_accepts_with_equal_values():
    rng = random.Random(0)
    alphabet = PLAIN_BYTES.decode().replace("\n", "") + "aAfFtTnNxX"
    fuzzed = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7))) for _ in range(3000)]
    defaults = [tf.constant([], tf.float32)] * 2
    taken = 0
    for field in FIELDS + fuzzed:
        line = f"{field},1".encode()
        fast = parse_plain_chunk(pandas, line, 2)
        if fast is None:
            continue
        taken += 1
        try:
            reference = tf.stack(tf.io.decode_csv([line], defaults), axis=1).numpy()
        except tf.errors.InvalidArgumentError:
            pytest.fail(f"pandas accepted {field!r}, which TensorFlow refuses")
        np.testing.assert_array_equal(fast, reference, err_msg=repr(field))
    assert taken > 300  # The fuzz reaches the fast path often enough to mean something.


@needs_pandas
def test_fast_path_takes_plain_chunks_and_leaves_the_rest():
    rows = parse_plain_chunk(pandas, b"1,2.5\n-3e2, 4\n", 2)
    np.testing.assert_array_equal(rows, [[1, 2.5], [-300, 4]])
    refused = [b'"1",2', b"TRUE,2", b"1,2\r\n3,4", b"1,2\n\n3,4", b"1,2\n3", b"1,2,3", b"nan,1", b"1e39,1"]
    for chunk in refused:
        assert parse_plain_chunk(pandas, chunk, 2) is None, chunk


def test_both_parsers_read_the_same_values(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(scale=1e3, size=(20_000, 4)).astype(np.float32)
    path = str(tmp_path / "a.csv")
    np.savetxt(path, values, delimiter=",", fmt="%.9g", header="a,b,c,price", comments="")
    by_tensorflow = CsvReader(label="price", parser="tensorflow").read(path).rows.numpy()
    np.testing.assert_array_equal(by_tensorflow, values)
    if pandas is not None:
        by_pandas = CsvReader(label="price", parser="pandas").read(path).rows.numpy()
        np.testing.assert_array_equal(by_pandas, values)
