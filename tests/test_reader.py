import numpy as np
import pytest

from keras_growing_data.reader import BadFileError, CsvReader


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return str(path)


def test_columns_are_reordered_features_first_then_labels(tmp_path):
    path = write(tmp_path / "a.csv", "price,a,b\n1,2,3\n4,5,6\n")
    parsed = CsvReader(label="price").read(path)
    assert parsed.columns == ("price", "a", "b")
    np.testing.assert_array_equal(parsed.rows.numpy(), [[2, 3, 1], [5, 6, 4]])


def test_several_labels_keep_their_given_order(tmp_path):
    path = write(tmp_path / "a.csv", "y1,a,y2\n1,2,3\n")
    rows = CsvReader(label=["y2", "y1"]).read(path).rows.numpy()
    np.testing.assert_array_equal(rows, [[2, 3, 1]])


def test_large_file_spans_many_parallel_chunks(tmp_path):
    values = np.arange(300_000, dtype=np.float32).reshape(-1, 3)
    path = str(tmp_path / "big.csv")
    np.savetxt(path, values, delimiter=",", fmt="%d", header="a,b,price", comments="")
    reader = CsvReader(label="price", chunk_bytes=1 << 16)
    rows = reader.read(path).rows.numpy()
    np.testing.assert_array_equal(rows, values)


def test_csv_as_people_write_it(tmp_path):
    text = '\ufeff"a", "b,c" ,price\r\n1, 2.5, 3\r\n"4",5,6\r\n\r\n\n7,8,9'
    path = write(tmp_path / "a.csv", text, mode="w")
    parsed = CsvReader(label="price").read(path)
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
def test_bad_files_are_rejected_with_line_and_column(tmp_path, text, reason):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(BadFileError, match=reason):
        CsvReader(label="price").read(path)


def test_header_must_match_the_schema(tmp_path):
    path = write(tmp_path / "a.csv", "b,a,price\n1,2,3\n")
    with pytest.raises(BadFileError, match="differs from the schema"):
        CsvReader(label="price").read(path, columns=("a", "b", "price"))


def test_binary_and_non_utf8_files_are_rejected(tmp_path):
    garbage = write(tmp_path / "g.csv", bytes(range(256)) * 4, mode="wb")
    with pytest.raises(BadFileError):
        CsvReader(label="price").read(garbage)
    latin1 = write(tmp_path / "l.csv", "a,b,price\n1,2,3\n\xe9,2,3\n".encode("latin-1"), mode="wb")
    with pytest.raises(BadFileError, match="line 3: not valid UTF-8"):
        CsvReader(label="price").read(latin1)


def test_overlong_line_is_rejected_without_reading_it_whole(tmp_path):
    path = write(tmp_path / "long.csv", "a,b,price\n" + "1" * 5_000_000 + ",2,3\n")
    reader = CsvReader(label="price", chunk_bytes=1 << 16, max_line_bytes=1 << 20)
    with pytest.raises(BadFileError, match="line 2 is longer than the maximum of 1048576 bytes"):
        reader.read(path)


def test_unreadable_path_is_a_bad_file(tmp_path):
    with pytest.raises(BadFileError, match="cannot be read"):
        CsvReader(label="price").read(str(tmp_path / "missing.csv"))


def test_label_none_keeps_every_column_as_a_feature(tmp_path):
    path = write(tmp_path / "a.csv", "a,b\n1,2\n")
    np.testing.assert_array_equal(CsvReader(label=None).read(path).rows.numpy(), [[1, 2]])


def test_fields_too_large_for_the_csv_module_are_reasons_not_crashes(tmp_path):
    header = write(tmp_path / "h.csv", "a," + "b" * 200_000 + ",price\n1,2,3\n")
    with pytest.raises(
        BadFileError, match=r"line 1 \(the header\) is not CSV: field larger than field limit"
    ):
        CsvReader(label="price").read(header)
    field = write(tmp_path / "f.csv", "a,b,price\n1," + "9" * 200_000 + ",3\n")
    with pytest.raises(BadFileError, match="line 2: not CSV: field larger than field limit"):
        CsvReader(label="price").read(field)


def test_a_long_line_inside_one_read_is_caught_too(tmp_path):
    path = write(tmp_path / "a.csv", "a,b,price\n1,2,3\n" + "1" * 500 + ",2,3\n4,5,6\n")
    with pytest.raises(BadFileError, match="line 3 is longer than the maximum of 100 bytes"):
        CsvReader(label="price", max_line_bytes=100).read(path)
    fine = write(tmp_path / "b.csv", "a,b,price\n" + "1,2,3\n" * 100)
    assert CsvReader(label="price", max_line_bytes=100).read(fine).rows.shape == (100, 3)


def test_values_only_tensorflow_refuses_still_get_a_reason(tmp_path):
    path = write(tmp_path / "a.csv", "a,b,price\n1,1_000,3\n")
    with pytest.raises(BadFileError, match="Field 1 in record 0 is not a valid float: 1_000"):
        CsvReader(label="price").read(path)
