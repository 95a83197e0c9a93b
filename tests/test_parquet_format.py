"""The Parquet format: types, missing and bad values, files still being written, and the ingest's contract."""

import datetime
import decimal
import json
import logging
import os
import re

import keras
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import OLD, counting_model, id_table, write_csv, write_parquet

import keras_growing_data as kgd
from keras_growing_data.cli.main import main
from keras_growing_data.errors import BadFileError, NoDataRowsError, UnfinishedFileError
from keras_growing_data.formats.parquet.parquet_format import GROUP_BYTES, ParquetFormat

DAY = datetime.date(2026, 12, 1)
MOMENT = datetime.datetime(2026, 12, 1, 3, 4, 5, 123456)
MOMENT_NS = 1_796_094_245_123_456_000  # MOMENT, UTC, in nanoseconds since 1970.
NOT_READ = "(columns of this type are not read: leave it out of columns)"


def read(path, **options):
    """The file at `path` read by a `ParquetFormat` with these options (`skip_bad_rows` among them)."""
    skip = options.pop("skip_bad_rows", False)
    return ParquetFormat(**{"label": "price", **options}).read(str(path), skip_bad_rows=skip)


def rejection(path, **options) -> str:
    with pytest.raises(BadFileError) as caught:
        read(path, **options)
    return str(caught.value)


def every_type():
    """One column of each kind of Arrow type a Parquet file holds, three rows."""
    return pa.table(
        {
            "i8": pa.array([1, -2, 3], pa.int8()),
            "u64": pa.array([0, 7, 2**40], pa.uint64()),
            "f16": pa.array([0.5, 1.5, 2.5], pa.float16()),
            "f32": pa.array([0.25, -1.0, 3.5], pa.float32()),
            "f64": pa.array([0.1, 2.0, 1e10], pa.float64()),
            "dec": pa.array([decimal.Decimal("1.25"), decimal.Decimal("-3.50"), decimal.Decimal("0.00")]),
            "flag": pa.array([True, False, True]),
            "city": pa.array(["Oslo", "Lima", "Oslo"]),
            "big": pa.array(["a", "b", "c"], pa.large_string()),
            "code": pa.array(["q", "p", "q"]).dictionary_encode(),
            "day": pa.array([DAY, DAY, datetime.date(1970, 1, 2)]),
            "at": pa.array([MOMENT, MOMENT, datetime.datetime(1970, 1, 1)], pa.timestamp("us", tz="UTC")),
            "tags": pa.array([["a"], [], None], pa.list_(pa.string())),
            "blob": pa.array([b"\x00", b"", b"x"], pa.binary()),
            "point": pa.array([{"x": 1}, {"x": 2}, None], pa.struct([("x", pa.int32())])),
            "price": pa.array([10.0, 20.0, 30.0]),
        }
    )


def test_each_type_is_inferred_by_its_arrow_type_and_nested_and_binary_columns_are_ignored(tmp_path):
    path = write_parquet(tmp_path / "t.parquet", every_type())
    parsed = read(path)
    numbers = ["i8", "u64", "f16", "f32", "f64", "dec", "flag"]
    strings = ["city", "big", "code", "day", "at"]
    assert parsed.schema.dtypes == {
        **dict.fromkeys(numbers, "float32"),
        **dict.fromkeys(strings, "string"),
        "price": "float32",
    }
    assert parsed.ignored == ("tags", "blob", "point")
    np.testing.assert_array_equal(
        parsed.arrays["float32"],
        np.array(
            [
                [1, 0, 0.5, 0.25, 0.1, 1.25, 1, 10],
                [-2, 7, 1.5, -1, 2, -3.5, 0, 20],
                [3, 2**40, 2.5, 3.5, 1e10, 0, 1, 30],
            ],
            np.float32,
        ),
    )
    assert parsed.strings == {
        "city": ("Oslo", "Lima"),
        "big": ("a", "b", "c"),
        "code": ("q", "p"),
        "day": ("2026-12-01", "1970-01-02"),
        "at": ("2026-12-01 03:04:05.123456000Z", "1970-01-01 00:00:00.000000000Z"),
    }
    np.testing.assert_array_equal(
        parsed.arrays["string"], [[0, 0, 0, 0, 0], [1, 1, 1, 0, 0], [0, 2, 0, 1, 1]]
    )
    assert parsed.num_rows == 3 and parsed.skipped == () and parsed.notes == ()
    assert parsed.header == tuple(every_type().column_names) and parsed.size == os.path.getsize(path)


def test_declared_types_read_dates_as_days_timestamps_as_nanoseconds_and_anything_as_text(tmp_path):
    path = write_parquet(tmp_path / "t.parquet", every_type())
    as_int64 = {name: "int64" for name in ("i8", "u64", "flag", "day", "at")}
    as_text = {f"{name}": "string" for name in ("i8", "f64", "dec", "flag", "code")}
    parsed = read(path, columns={**as_int64, "price": "float32"})
    np.testing.assert_array_equal(
        parsed.arrays["int64"],
        [[1, 0, 1, 20788, MOMENT_NS], [-2, 7, 0, 20788, MOMENT_NS], [3, 2**40, 1, 1, 0]],
    )
    assert parsed.ignored == tuple(name for name in every_type().column_names if name not in as_int64)[:-1]
    parsed = read(path, columns={**as_text, "price": "float32"})
    assert parsed.strings == {
        "i8": ("1", "-2", "3"),
        "f64": ("0.1", "2", "1e+10"),
        "dec": ("1.25", "-3.50", "0.00"),
        "flag": ("true", "false"),
        "code": ("q", "p"),
    }


@pytest.mark.parametrize(
    ("column", "dtype", "reason"),
    [
        ("city", "float32", "column 'city' is string, expected float32 (declare it string)"),
        ("code", "int64", "column 'code' is dictionary-encoded string, expected int64 (declare it string)"),
        ("f64", "int64", "column 'f64' is double, expected int64 (declare it float32 or string)"),
        (
            "at",
            "float32",
            "column 'at' is timestamp[us, tz=UTC], expected float32 (declare it int64 or string)",
        ),
        (
            "blob",
            "float32",
            f"column 'blob' is binary, expected float32 {NOT_READ}",
        ),
        (
            "tags",
            "string",
            f"column 'tags' is a list, expected string {NOT_READ}",
        ),
        (
            "point",
            "string",
            f"column 'point' is a struct, expected string {NOT_READ}",
        ),
    ],
)
def test_a_schema_column_of_a_type_it_cannot_read_rejects_the_file_naming_both_types(
    tmp_path, column, dtype, reason
):
    path = write_parquet(tmp_path / "t.parquet", every_type())
    assert rejection(path, columns={column: dtype, "price": "float32"}) == reason


def test_a_label_of_a_type_not_read_rejects_the_file(tmp_path):
    table = every_type().rename_columns([*every_type().column_names[:-1], "extra"])
    path = write_parquet(tmp_path / "t.parquet", table)
    assert rejection(path, label="tags") == "the label column 'tags' is a list, which is not read"


GAPPY = pa.table(
    {
        "x": pa.array([1.0, 2.0, None, 4.0, float("nan"), 6.0, 7.0]),
        "city": pa.array(["Oslo", None, "Lima", "Oslo", "Lima", None, "Oslo"]),
        "rooms": pa.array([1, 2, 3, None, 5, 6, 7], pa.int64()),
        "price": pa.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]),
    }
)
GAPPY_COLUMNS = {"x": "float32", "city": "string", "rooms": "int64", "price": "float32"}


def test_a_missing_value_without_a_default_names_its_row_its_row_group_and_its_column(tmp_path):
    path = write_parquet(tmp_path / "t.parquet", GAPPY, row_group_size=3)
    assert (
        rejection(path, columns=GAPPY_COLUMNS)
        == "row 2 (row group 0), column 'city': missing value (null), and the column has no default"
    )
    parsed = read(path, columns=GAPPY_COLUMNS, skip_bad_rows=True)
    assert [(bad.line, bad.reason) for bad in parsed.skipped] == [
        (2, "row group 0, column 'city': missing value (null), and the column has no default"),
        (3, "row group 0, column 'x': missing value (null), and the column has no default"),
        (4, "row group 1, column 'rooms': missing value (null), and the column has no default"),
        (5, "row group 1, column 'x': missing value (NaN), and the column has no default"),
        (6, "row group 1, column 'city': missing value (null), and the column has no default"),
    ]
    np.testing.assert_array_equal(parsed.arrays["float32"], [[1, 1], [7, 7]])
    np.testing.assert_array_equal(parsed.arrays["int64"], [[1], [7]])
    assert parsed.strings == {"city": ("Oslo",)}


def test_a_missing_value_takes_its_columns_default_and_a_default_string_its_place_in_first_seen_order(
    tmp_path,
):
    path = write_parquet(tmp_path / "t.parquet", GAPPY, row_group_size=3)
    parsed = read(path, columns=GAPPY_COLUMNS, defaults={"x": -1.0, "city": "[UNK]", "rooms": 0})
    np.testing.assert_array_equal(
        parsed.arrays["float32"][:, 0], np.array([1, 2, -1, 4, -1, 6, 7], np.float32)
    )
    np.testing.assert_array_equal(parsed.arrays["int64"][:, 0], [1, 2, 3, 0, 5, 6, 7])
    assert parsed.strings == {"city": ("Oslo", "[UNK]", "Lima")}
    np.testing.assert_array_equal(parsed.arrays["string"][:, 0], [0, 1, 2, 0, 2, 1, 0])
    assert parsed.skipped == ()


def test_a_value_its_type_cannot_hold_is_a_bad_row(tmp_path):
    cases = [
        ({"x": pa.array([1.0, float("inf")])}, {}, "column 'x': expected a finite number, found 'inf'"),
        ({"x": pa.array([1.0, 1e39])}, {}, "column 'x': expected a number float32 can hold, found '1e+39'"),
        (
            {"x": pa.array([1, 2**64 - 1], pa.uint64())},
            {"x": "int64"},
            "column 'x': expected an integer int64 can hold, found '18446744073709551615'",
        ),
        (
            {"x": pa.array([MOMENT, datetime.datetime(9999, 12, 31)], pa.timestamp("us"))},
            {"x": "int64"},
            "column 'x': the timestamp '9999-12-31 00:00:00.000000' is past int64 nanoseconds "
            "(years 1677 to 2262)",
        ),
    ]
    for number, (columns, declared, reason) in enumerate(cases):
        path = write_parquet(tmp_path / f"{number}.parquet", {**columns, "price": [1.0, 2.0]})
        schema = {**declared, "price": "float32"} if declared else None
        assert rejection(path, columns=schema) == f"row 2 (row group 0), {reason}"


def test_strings_not_utf8_are_bad_rows(tmp_path):
    text = pa.array([b"Oslo", b"\xff\xfe", b"Lima"], pa.binary()).view(pa.string())  # Arrow does not check.
    path = write_parquet(tmp_path / "t.parquet", {"city": text, "price": [1.0, 2.0, 3.0]})
    assert rejection(path) == "row 2 (row group 0), column 'city': not valid UTF-8"
    parsed = read(path, skip_bad_rows=True)
    assert parsed.strings == {"city": ("Oslo", "Lima")} and parsed.num_rows == 2


def test_a_dictionary_column_keeps_only_the_strings_its_rows_use_in_the_order_first_seen(tmp_path):
    dictionary = pa.array(["unused", "Lima", "Oslo", "Rome"])
    codes = pa.DictionaryArray.from_arrays(pa.array([2, 1, 2, None, 3], pa.int32()), dictionary)
    path = write_parquet(tmp_path / "t.parquet", {"city": codes, "price": [1.0, 2.0, 3.0, 4.0, 5.0]})
    parsed = read(path, defaults={"city": "Lima"})
    assert parsed.strings == {"city": ("Oslo", "Lima", "Rome")}
    np.testing.assert_array_equal(parsed.arrays["string"][:, 0], [0, 1, 0, 1, 2])


def test_integers_float32_cannot_hold_get_the_float32_note(tmp_path):
    path = write_parquet(
        tmp_path / "t.parquet", {"n": pa.array([2**24 + 1, 3], pa.int64()), "price": [1.0, 2.0]}
    )
    assert read(path).notes == (
        "column 'n': 1 integer value(s) beyond 2^24 are not exact in float32 (16777217 became 16777216); "
        "declare the column int64 to keep them",
    )
    assert read(path, columns={"n": "int64", "price": "float32"}).notes == ()


def test_a_file_named_parquet_that_is_not_parquet_is_rejected_never_read_as_text(tmp_path):
    path = write_csv(tmp_path / "t.parquet", 3)
    assert rejection(path) == (
        "is not a Parquet file: it does not start with PAR1, Parquet's magic number "
        "(it starts with 'id,x,price')"
    )
    corrupt = tmp_path / "corrupt.parquet"
    good = open(write_parquet(tmp_path / "good.parquet", 3), "rb").read()
    corrupt.write_bytes(good[:-12] + b"\xff\xff\xff\xff" + good[-8:])  # The footer's last bytes.
    assert rejection(corrupt).startswith("does not read as Parquet: ")


def test_a_parquet_file_without_its_footer_is_unfinished(tmp_path):
    whole = open(write_parquet(tmp_path / "whole.parquet", 100), "rb").read()
    for name, content in [("empty", b""), ("head", whole[:3]), ("half", whole[: len(whole) // 2])]:
        (tmp_path / f"{name}.parquet").write_bytes(content)
        with pytest.raises(UnfinishedFileError, match="still being written, or cut short when copied$"):
            read(tmp_path / f"{name}.parquet")
    (tmp_path / "long.parquet").write_bytes(whole[:-8] + (len(whole)).to_bytes(4, "little") + b"PAR1")
    assert rejection(tmp_path / "long.parquet") == (
        f"has a Parquet footer of {len(whole)} bytes, more than the file holds ({len(whole)} bytes): "
        "still being written, or cut short when copied"
    )


def test_an_empty_table_has_no_rows_and_max_file_bytes_is_kept(tmp_path):
    empty = write_parquet(tmp_path / "empty.parquet", id_table(0, 0))
    with pytest.raises(NoDataRowsError, match=r"^has no rows \(an empty Parquet file\)$"):
        read(empty)
    zeros = {"x": np.zeros(100_000), "price": np.zeros(100_000)}
    path = write_parquet(tmp_path / "t.parquet", zeros, use_dictionary=False, compression="gzip")
    size = os.path.getsize(path)
    column_bytes = pq.ParquetFile(path).metadata.row_group(0).total_byte_size
    assert size < 10_000 < 1_600_000 < column_bytes  # Compressed: a file of a few bytes may hold gigabytes.
    assert read(path, max_file_bytes=column_bytes).num_rows == 100_000
    assert rejection(path, max_file_bytes=size - 1) == (
        f"holds more than {size - 1} bytes (max_file_bytes={size - 1}); raise max_file_bytes to read it"
    )
    assert rejection(path, max_file_bytes=column_bytes - 1) == (
        f"holds {column_bytes} bytes of column data uncompressed, more than max_file_bytes "
        f"({column_bytes - 1}); raise max_file_bytes to read it"
    )


def test_a_row_group_too_big_to_read_at_once_is_read_in_batches_with_the_same_rows(tmp_path):
    rows = GROUP_BYTES // (3 * 8) + 1000  # One row group of more than GROUP_BYTES, at 8 bytes a value.
    table = pa.table({"id": np.arange(rows), "x": np.arange(rows) % 7, "price": np.arange(rows) * 0.5})
    path = write_parquet(tmp_path / "big.parquet", table, row_group_size=rows)
    assert pq.ParquetFile(path).metadata.num_row_groups == 1
    parsed = read(path, columns={"id": "int64", "x": "float32", "price": "float32"})
    np.testing.assert_array_equal(parsed.arrays["int64"][:, 0], np.arange(rows))
    np.testing.assert_array_equal(parsed.arrays["float32"], np.stack([table["x"], table["price"]], 1))


# The ingest: what GrowingDataCallback makes of a folder of Parquet files.


def parquet_data(folder, **options) -> kgd.GrowingDataCallback:
    return kgd.GrowingDataCallback(folder, **{"label": "price", "settle_seconds": 0, **options})


def test_a_half_written_file_waits_in_place_and_is_accepted_whole_once_complete(folder, caplog):
    whole = open(write_parquet(folder / "whole.parquet", id_table(0, 40), row_group_size=10), "rb").read()
    os.remove(folder / "whole.parquet")
    path = folder / "part-0.parquet"
    path.write_bytes(whole[: len(whole) // 2])
    os.utime(path, (OLD, OLD))
    data = parquet_data(folder, on_bad_file="quarantine")
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert data.poll() == []
    assert data.rejected[str(path)].reason == (
        "has no Parquet footer yet (it does not end with PAR1): still being written, or cut short when copied"
    )
    assert data.rejected[str(path)].moved_to is None and path.exists() and not (folder / "_rejected").exists()
    assert data.num_rows == 0 and data.poll() == []  # Not read again until it changes.
    path.write_bytes(whole)
    os.utime(path, (OLD + 1, OLD + 1))
    assert data.poll() == [str(path)]
    assert data.num_rows == 40 and data.accepted[str(path)].rows == 40 and data.rejected == {}


def test_a_file_that_is_not_parquet_is_quarantined_with_its_reason(folder):
    write_csv(folder / "a.parquet", 3)
    write_parquet(folder / "b.parquet", 5)
    data = parquet_data(folder, on_bad_file="quarantine")
    assert data.poll() == [str(folder / "b.parquet")]
    (rejected,) = data.rejected.values()
    assert rejected.moved_to == str(folder / "_rejected" / "a.parquet")
    assert rejected.reason.startswith("is not a Parquet file: it does not start with PAR1")


def test_the_same_rows_as_csv_and_as_parquet_give_the_same_rows_and_string_ids(folder, tmp_path):
    cities = ["Oslo", "Lima", "Oslo", "Rome", None, "Lima", "Kyiv"]
    rows = [(i, cities[i % 7], 2.0 * i) for i in range(50)]
    csv_folder = tmp_path / "csv"
    csv_folder.mkdir()
    options = {"defaults": {"city": "[UNK]"}, "strings_as": "index", "shuffle": False, "batch_size": 64}
    for name, part, mtime in (("a", slice(0, 30), OLD), ("b", slice(30, 50), OLD + 1)):
        text_rows = [(i, city or "", price) for i, city, price in rows[part]]
        write_csv(csv_folder / f"{name}.csv", text_rows, header=("id", "city", "price"), mtime=mtime)
        ids, city_names, prices = zip(*rows[part], strict=True)
        table = {
            "id": pa.array(ids, pa.int64()),
            "city": pa.array(city_names).dictionary_encode(),
            "price": pa.array(prices),
        }
        write_parquet(folder / f"{name}.parquet", table, mtime=mtime, row_group_size=7)
    as_csv = kgd.GrowingDataCallback(csv_folder, label="price", settle_seconds=0, **options)
    as_csv.poll()
    as_parquet = parquet_data(folder, **options)
    as_parquet.poll()
    assert as_parquet.num_rows == as_csv.num_rows == 50
    assert as_parquet.schema == as_csv.schema == {"id": "float32", "city": "string", "price": "float32"}
    assert (
        as_parquet.vocabulary("city")
        == as_csv.vocabulary("city")
        == ["[UNK]", "Oslo", "Lima", "Rome", "Kyiv"]
    )
    (csv_x, csv_y), (parquet_x, parquet_y) = (next(iter(data.dataset)) for data in (as_csv, as_parquet))
    for name in ("id", "city"):
        np.testing.assert_array_equal(parquet_x[name], csv_x[name])
    np.testing.assert_array_equal(parquet_y, csv_y)


def test_a_folder_given_as_a_url_is_read_through_tf_io_gfile(folder):
    write_parquet(folder / "a.parquet", id_table(0, 30), row_group_size=7)
    data = parquet_data(f"file://{folder}", shuffle=False, batch_size=64)
    assert data.poll() == [f"file://{folder}/a.parquet"]
    x, _ = next(iter(data.dataset))
    np.testing.assert_array_equal(x[:, 0], np.arange(30))
    assert data.accepted[f"file://{folder}/a.parquet"].ignored == ()


def test_partition_columns_come_from_hive_folders(folder):
    for day, first in (("2026-12-01", 0), ("2026-12-02", 10)):
        (folder / f"dt={day}").mkdir()
        write_parquet(folder / f"dt={day}" / "part-00000-1b2c.snappy.parquet", id_table(first, 10))
    data = parquet_data(folder, recursive=True, partition_columns=True, strings_as="index", shuffle=False)
    assert len(data.poll()) == 2
    assert data.schema == {"id": "float32", "x": "float32", "price": "float32", "dt": "string"}
    assert data.vocabulary("dt") == ["[UNK]", "2026-12-01", "2026-12-02"]
    x, _ = next(iter(data.dataset))
    np.testing.assert_array_equal(x["dt"], [1] * 10 + [2] * 10)
    np.testing.assert_array_equal(x["id"], np.arange(20))


def test_a_restart_with_state_dir_reads_nothing_twice_and_keeps_the_string_ids(folder, tmp_path):
    state = tmp_path / "state"
    cities = {"a": ["Oslo", "Lima"], "b": ["Rome", "Oslo"], "c": ["Kyiv", "Lima"]}
    for name in "ab":
        write_parquet(folder / f"{name}.parquet", {"city": cities[name], "price": [1.0, 2.0]})
    first = parquet_data(folder, state_dir=state, strings_as="index")
    assert len(first.poll()) == 2
    write_parquet(folder / "c.parquet", {"city": cities["c"], "price": [3.0, 4.0]})
    again = parquet_data(folder, state_dir=state, strings_as="index")
    assert again.num_rows == 4 and again.vocabulary("city") == ["[UNK]", "Oslo", "Lima", "Rome"]
    assert again.poll() == [str(folder / "c.parquet")]
    assert again.num_rows == 6 and again.vocabulary("city") == ["[UNK]", "Oslo", "Lima", "Rome", "Kyiv"]


def test_storage_disk_keeps_the_rows_memory_keeps(folder, tmp_path):
    write_parquet(folder / "a.parquet", id_table(0, 1000), row_group_size=300)
    write_parquet(folder / "b.parquet", id_table(1000, 77))
    in_memory = parquet_data(folder, shuffle=False, batch_size=2000)
    on_disk = parquet_data(
        folder, shuffle=False, batch_size=2000, storage="disk", storage_dir=tmp_path / "rows"
    )
    for data in (in_memory, on_disk):
        data.poll()
    (memory_x, memory_y), (disk_x, disk_y) = (next(iter(data.dataset)) for data in (in_memory, on_disk))
    np.testing.assert_array_equal(disk_x, memory_x)
    np.testing.assert_array_equal(disk_y, memory_y)
    np.testing.assert_array_equal(memory_x[:, 0], np.arange(1077))


def test_a_window_trains_on_the_newest_files(folder):
    for number in range(4):
        write_parquet(folder / f"{number}.parquet", id_table(10 * number, 10), mtime=OLD + number)
    data = parquet_data(folder, window=kgd.Window(files=2))
    data.poll()
    assert data.in_window == [str(folder / "2.parquet"), str(folder / "3.parquet")]
    assert data.num_rows == 20


class LandFiles(keras.callbacks.Callback):
    """Writes a Parquet file of id rows at the end of given epochs: {epoch: (name, first_id, n)}."""

    def __init__(self, folder, plan):
        super().__init__()
        self.folder = folder
        self.plan = plan

    def on_epoch_end(self, epoch, logs=None):
        if epoch in self.plan:
            name, first_id, count = self.plan[epoch]
            write_parquet(self.folder / name, id_table(first_id, count), row_group_size=16)


def test_fit_trains_every_accepted_row_exactly_once_per_epoch_as_files_land(folder):
    write_parquet(folder / "a.parquet", id_table(0, 100), row_group_size=32)
    plan = {0: ("b.parquet", 100, 37), 2: ("c.parquet", 137, 64)}
    model, counts = counting_model()
    data = parquet_data(folder, batch_size=16, seed=3)
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=4, callbacks=[counts, LandFiles(folder, plan)], verbose=0
    )
    assert history.history["rows"] == [100, 137, 137, 201]
    assert history.history["files"] == [1, 2, 2, 3]
    for epoch, rows in enumerate(history.history["rows"]):
        seen = counts.per_epoch[epoch]
        np.testing.assert_array_equal(seen[:rows], 1, err_msg=f"epoch {epoch}")
        assert seen[rows:].sum() == 0, f"epoch {epoch} trained rows not yet accepted"


def test_a_day_is_read_once_its_success_marker_lands_and_status_says_what_it_waits_for(
    folder, tmp_path, capsys
):
    days = {"dt=2026-12-01": 0, "dt=2026-12-02": 10}
    for day, first in days.items():
        (folder / day).mkdir()
        write_parquet(folder / day / "part-00000-1b2c.snappy.parquet", id_table(first, 10))
        (folder / day / "_temporary" / "0").mkdir(parents=True)
        write_parquet(folder / day / "_temporary" / "0" / "part-00001-1b2c.snappy.parquet", 5)
    (folder / "dt=2026-12-01" / "_SUCCESS").write_bytes(b"")
    config = {"label": "price", "recursive": True, "commit_marker": "_SUCCESS"}
    path = tmp_path / "run.json"
    path.write_text(json.dumps({**config, "settle_seconds": 0}))
    assert main(["status", str(folder), "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    waiting = folder / "dt=2026-12-02" / "part-00000-1b2c.snappy.parquet"
    size = os.path.getsize(waiting)
    assert lines[0] == f"{folder}: 1 accepted (10 rows), 1 pending ({size} bytes), 0 rejected"
    assert [re.split(r" {2,}", line)[:2] for line in lines[1:]] == [
        ["accepted", "dt=2026-12-01/part-00000-1b2c.snappy.parquet"],
        ["pending", "dt=2026-12-02/part-00000-1b2c.snappy.parquet"],
    ]
    assert re.split(r" {2,}", lines[2])[2].startswith(
        f"waiting for _SUCCESS in dt=2026-12-02/; {size} bytes, "
    )
    data = parquet_data(folder, recursive=True, commit_marker="_SUCCESS")
    assert data.poll() == [str(folder / "dt=2026-12-01" / "part-00000-1b2c.snappy.parquet")]
    assert data.poll() == [] and data.num_rows == 10
    (folder / "dt=2026-12-02" / "_SUCCESS").write_bytes(b"")
    assert data.poll() == [str(folder / "dt=2026-12-02" / "part-00000-1b2c.snappy.parquet")]
    assert data.num_rows == 20 and data.rejected == {}
