import os

import numpy as np
import pytest
from helpers import OLD, id_rows, write_csv

import keras_growing_data as kgd
from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.csv import tf_parser
from keras_growing_data.formats.csv.csv_format import CsvFormat
from keras_growing_data.formats.partitions import partition_values

NUMBERS = {"id": "float32", "x": "float32", "price": "float32"}


def test_key_value_folders_give_unescaped_columns_and_other_folders_nothing():
    assert partition_values("dt=2026-12-01/raw/hour=03/part-0.csv.gz") == {"dt": "2026-12-01", "hour": "03"}
    assert partition_values("city=S%C3%A3o%20Paulo/a=b=c/part.csv") == {"city": "São Paulo", "a": "b=c"}
    assert partition_values("part=0.csv") == {}  # The file's own name gives nothing.
    assert partition_values("=x/y=/part.csv") == {"y": ""}


def test_two_folders_that_give_one_column_two_values_are_an_error():
    with pytest.raises(BadFileError, match="^its folders give the column 'dt' two values, '1' and '2'$"):
        partition_values("dt=1/dt=2/part.csv")
    assert partition_values("dt=1/dt=1/part.csv") == {"dt": "1"}


def write_tree(folder, files):
    for relative, rows in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        write_csv(folder / relative, rows)


def served(data):
    features = {"dt": [], "hour": [], "id": []}
    for x, _ in data.build_dataset(shuffle=False):
        for name, values in features.items():
            values.extend(np.asarray(x[name]).tolist())
    return features


def test_partition_columns_are_inferred_and_served_in_every_row(folder, tmp_path):
    write_tree(
        folder, {"dt=2026-12-01/hour=03/a.csv": id_rows(0, 3), "dt=2026-12-02/hour=10/b.csv": id_rows(3, 2)}
    )
    options = {"recursive": True, "partition_columns": True, "features": "dict", "strings_as": "index"}
    data = kgd.GrowingDataCallback(folder, "price", settle_seconds=0, state_dir=tmp_path / "state", **options)
    assert len(data.poll()) == 2 and data.rejected == {}
    assert data.schema == {**NUMBERS, "dt": "string", "hour": "float32"}
    assert data.vocabulary("dt") == ["[UNK]", "2026-12-01", "2026-12-02"]
    expected = {"dt": [1, 1, 1, 2, 2], "hour": [3.0, 3.0, 3.0, 10.0, 10.0], "id": [0, 1, 2, 3, 4]}
    assert served(data) == expected
    data.ingest.record_epoch(0)
    assert data.lineage[0].names == ("dt=2026-12-01/hour=03/a.csv", "dt=2026-12-02/hour=10/b.csv")
    restarted = kgd.GrowingDataCallback(
        folder, "price", settle_seconds=0, state_dir=tmp_path / "state", **options
    )
    assert restarted.poll() == [] and served(restarted) == expected
    with pytest.raises(ValueError, match="its rows were read by other rules"):
        kgd.GrowingDataCallback(folder, "price", state_dir=tmp_path / "state", recursive=True)


def test_declared_partition_columns_are_typed_and_bad_folders_are_rejected_with_their_reason(folder):
    write_tree(
        folder,
        {
            "hour=3/good.csv": id_rows(0, 2),
            "hour=x3/text.csv": id_rows(2, 2),
            "hour=3.5/fraction.csv": id_rows(4, 2),
            "hour=4/both.csv": [(6, 1, 1, 4)],
            "flat.csv": id_rows(8, 1),
        },
    )
    write_csv(folder / "hour=4" / "both.csv", [(6, 1, 1, 4)], header=("id", "x", "price", "hour"))
    columns = {**NUMBERS, "hour": "int64"}
    data = kgd.GrowingDataCallback(
        folder,
        "price",
        settle_seconds=0,
        recursive=True,
        partition_columns=True,
        columns=columns,
        features="dict",
    )
    assert data.poll() == [str(folder / "hour=3" / "good.csv")]
    reasons = {data.watcher.relative(path): record.reason for path, record in data.rejected.items()}
    assert reasons == {
        "hour=x3/text.csv": (
            "its folder 'hour=x3' gives int64 column 'hour' the value 'x3', which is not an integer"
        ),
        "hour=3.5/fraction.csv": (
            "its folder 'hour=3.5' gives int64 column 'hour' the value '3.5', which is not an integer"
        ),
        "hour=4/both.csv": "has the column 'hour', which its folder 'hour=4' gives as well",
        "flat.csv": (
            "the header has no column ['hour'] of the schema, and no default fills it; "
            "it has ['id', 'x', 'price']"
        ),
    }
    ((x, _),) = data.build_dataset(shuffle=False)
    assert x["hour"].dtype == "int64" and np.asarray(x["hour"]).tolist() == [3, 3]


def test_a_partition_column_the_declared_schema_lacks_is_ignored_and_listed(folder):
    write_tree(folder, {"dt=2026-12-01/a.csv": id_rows(0, 2)})
    data = kgd.GrowingDataCallback(
        folder, "price", settle_seconds=0, recursive=True, partition_columns=True, columns=NUMBERS
    )
    (path,) = data.poll()
    assert data.accepted[path].ignored == ("dt",) and data.num_rows == 2


def test_files_of_new_partition_values_share_one_traced_parser(tmp_path):
    # A parser traced per value (a new date every day) would stay cached for the rest of the run.
    columns = {**NUMBERS, "dt": "string", "hour": "int64"}
    reader = CsvFormat("price", parser="tensorflow", columns=columns)
    path = write_csv(tmp_path / "a.csv", id_rows(0, 3))
    cached = []
    for day in range(1, 11):
        parsed = reader.read(path, partition={"dt": f"2026-12-{day:02d}", "hour": str(day)})
        assert parsed.strings == {"dt": (f"2026-12-{day:02d}",)}
        assert parsed.arrays["string"].tolist() == [[0], [0], [0]]
        assert parsed.arrays["int64"].tolist() == [[day], [day], [day]]
        assert parsed.arrays["float32"].tolist() == [[0, 0, 1], [1, 1, 3], [2, 2, 5]]
        cached.append(tf_parser.chunk_parser.cache_info().currsize)
    assert cached[1] == cached[-1]


@pytest.mark.parametrize("columns", [None, {**NUMBERS, "size": "float32"}])
def test_a_folder_value_float32_cannot_hold_is_refused_as_in_a_file(folder, columns):
    write_tree(folder, {"size=2.5/a.csv": id_rows(0, 2), "size=1e39/b.csv": id_rows(2, 2)})
    os.utime(folder / "size=1e39" / "b.csv", (OLD + 1, OLD + 1))
    data = kgd.GrowingDataCallback(
        folder, "price", settle_seconds=0, recursive=True, partition_columns=True, columns=columns
    )
    assert data.poll() == [str(folder / "size=2.5" / "a.csv")]
    (record,) = data.rejected.values()
    assert record.reason == (
        "its folder 'size=1e39' gives float32 column 'size' the value '1e39', which is not a finite number"
    )


def test_hives_null_partition_takes_the_default_or_is_rejected_without_one(folder):
    write_tree(
        folder, {"hour=3/a.csv": id_rows(0, 1), "hour=__HIVE_DEFAULT_PARTITION__/b.csv": id_rows(1, 2)}
    )
    columns = {**NUMBERS, "hour": "int64"}
    options = {"settle_seconds": 0, "recursive": True, "partition_columns": True, "features": "dict"}
    data = kgd.GrowingDataCallback(folder, "price", columns=columns, defaults={"hour": -1}, **options)
    assert len(data.poll()) == 2
    ((x, _),) = data.build_dataset(shuffle=False)
    assert sorted(np.asarray(x["hour"]).tolist()) == [-1, -1, 3]
    strict = kgd.GrowingDataCallback(folder, "price", columns=columns, **options)
    assert strict.poll() == [str(folder / "hour=3" / "a.csv")]
    (record,) = strict.rejected.values()
    assert record.reason == (
        "its folder 'hour=__HIVE_DEFAULT_PARTITION__' gives the column 'hour' a missing value, "
        "and the column has no default"
    )
