import bz2
import gzip
import json
import lzma
import os

import numpy as np
import pytest
from helpers import OLD, write_csv

import keras_growing_data as kgd
from keras_growing_data.cli.main import main
from keras_growing_data.errors import BadFileError, NoDataRowsError, TruncatedArchiveError
from keras_growing_data.formats.bad_row import BadRow
from keras_growing_data.formats.csv.csv_format import CsvFormat
from keras_growing_data.formats.jsonl.arrow_lines import arrow_lines
from keras_growing_data.formats.jsonl.jsonl_format import JsonlFormat
from keras_growing_data.formats.jsonl.key_plan import key_plan
from keras_growing_data.formats.jsonl.python_lines import python_lines
from keras_growing_data.sources.ingest_parts import build_ingest

DECLARED = {"id": "float32", "rooms": "int64", "city": "string", "price": "float32"}


def write_jsonl(path, rows, mtime=OLD, opener=open):
    """Writes rows (dicts, or raw lines as str) one a line, as a logger would."""
    with opener(path, "wt") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def id_objects(first_id, count, city=True):
    """Objects `{id, x, price}` (and `city`) with ids `first_id ... first_id + count - 1`, as `id_rows`."""
    return [
        {"id": i, "x": i % 7, "price": 2 * (i % 7) + 1, **({"city": ["Oslo", "Lima"][i % 2]} if city else {})}
        for i in range(first_id, first_id + count)
    ]


def read(tmp_path, lines, name="a.jsonl", skip_bad_rows=False, **options):
    path = write_jsonl(tmp_path / name, lines)
    return JsonlFormat(**{"label": "price", **options}).read(path, skip_bad_rows=skip_bad_rows)


def reason(tmp_path, lines, **options):
    with pytest.raises(BadFileError) as error:
        read(tmp_path, lines, **options)
    return str(error.value)


def test_keys_in_any_order_are_columns_typed_by_their_values(tmp_path):
    parsed = read(
        tmp_path,
        [
            '{"id": 1, "x": 2.5, "city": "Oslo", "price": 3, "ctx": {"a": 1}}',
            "",
            '{"price": 4, "city": "Lima", "x": true, "id": 2}',
            '  {"id": 3, "x": false, "city": "Oslo", "price": 5e0, "ctx": null}  ',
        ],
    )
    assert parsed.schema.dtypes == {"id": "float32", "x": "float32", "city": "string", "price": "float32"}
    np.testing.assert_array_equal(parsed.arrays["float32"], [[1, 2.5, 3], [2, 1, 4], [3, 0, 5]])
    np.testing.assert_array_equal(parsed.arrays["string"], [[0], [1], [0]])
    assert parsed.strings == {"city": ("Oslo", "Lima")}
    assert parsed.header == ("id", "x", "city", "price", "ctx") and parsed.ignored == ("ctx",)
    assert (
        parsed.lines == 4 and parsed.size == os.path.getsize(tmp_path / "a.jsonl") and not parsed.compressed
    )


def test_declared_types_follow_the_csv_rules_and_booleans_are_one_and_zero(tmp_path):
    lines = [
        {"id": 1, "rooms": 3, "city": "Oslo", "price": 2.5, "extra": "x"},
        '{"id": true, "rooms": false, "city": 12.10, "price": 7}',
        '{"id": 3, "rooms": -9223372036854775808, "city": true, "price": 1.10}',
    ]
    parsed = read(tmp_path, lines, columns=DECLARED)
    np.testing.assert_array_equal(parsed.arrays["float32"], np.float32([[1, 2.5], [1, 7], [3, 1.1]]))
    np.testing.assert_array_equal(parsed.arrays["int64"], [[3], [0], [-(2**63)]])
    assert parsed.strings == {"city": ("Oslo", "12.10", "true")} and parsed.ignored == ("extra",)
    assert reason(tmp_path, [{"id": 1, "rooms": 1.0, "city": "a", "price": 1}], columns=DECLARED) == (
        "line 1, key 'rooms': expected an integer (int64), found 1.0"
    )
    big = '{"id": 1, "rooms": 9223372036854775808, "city": "a", "price": 1}'
    assert reason(tmp_path, [big], columns=DECLARED) == (
        "line 1, key 'rooms': expected an integer (int64), found 9223372036854775808"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": 7, "x": "abc", "price": 1}', "line 7, key 'x': expected a number, found \"abc\""),
        ('{"id": 7, "x": "3.5", "price": 1}', "line 7, key 'x': expected a number, found \"3.5\""),
        (
            '{"id": 7, "x": {"a": 1}, "price": 1}',
            "line 7, key 'x': expected a number, found an object; "
            "nested objects and lists are not read (flatten them, or leave the key out of the columns)",
        ),
        (
            '{"id": 7, "x": [1, 2], "price": 1}',
            "line 7, key 'x': expected a number, found a list; "
            "nested objects and lists are not read (flatten them, or leave the key out of the columns)",
        ),
        (
            '{"id": 7, "x": null, "price": 1}',
            "line 7, key 'x': missing value null, and the column has no default",
        ),
        ('{"id": 7, "price": 1}', "line 7: no key 'x', and the column has no default"),
        (
            '{"id": 7, "x": 1, "Price": 1}',
            "line 7: no key 'price', and the column has no default (did you mean 'Price'?)",
        ),
        (
            '{"id": 7, "x": NaN, "price": 1}',
            "line 7, key 'x': expected a finite number, found NaN (NaN and infinite values are rejected)",
        ),
        (
            '{"id": 7, "x": 1e39, "price": 1}',
            "line 7, key 'x': expected a finite number, found 1e39 (NaN and infinite values are rejected)",
        ),
        ('{"id": 7, "x": 1, "x": 2, "price": 1}', "line 7: the key 'x' appears twice in one object"),
        (
            '{"id": 7, "x": 1, "price": 1}{"id": 8, "x": 1, "price": 1}',
            "line 7: holds more than one JSON value (the next starts at character 30)",
        ),
        ("[7, 1, 1]", "line 7: not a JSON object: found a list; each line must hold one object"),
        ("7,1,1", "line 7: holds more than one JSON value (the next starts at character 2)"),
        ('{"id": 7, "x": 1, "price": 1', "line 7: not JSON: Expecting ',' delimiter at character 29"),
        (
            '{"id": 7, "x": 1, "price": 1, "note": "\t"}',
            "line 7: not JSON: Invalid control character at character 40",
        ),
    ],
)
def test_a_bad_line_rejects_the_file_naming_its_line_and_key(tmp_path, line, expected):
    lines = [{"id": i, "x": i, "price": 1} for i in range(1, 6)] + ["", line]
    columns = {"id": "float32", "x": "float32", "price": "float32"}
    assert reason(tmp_path, lines, columns=columns) == expected


def test_null_and_a_missing_key_take_the_default_and_strings_stay_as_written(tmp_path):
    lines = [
        {"id": 1, "rooms": None, "city": "NA", "price": 1},
        {"id": 2, "price": 2},
        {"id": 3, "rooms": 4, "city": "", "price": None},
    ]
    defaults = {"rooms": -1, "city": "[UNK]", "price": float("nan")}
    parsed = read(tmp_path, lines, columns=DECLARED, defaults=defaults)
    np.testing.assert_array_equal(parsed.arrays["float32"], np.float32([[1, 1], [2, 2], [3, np.nan]]))
    np.testing.assert_array_equal(parsed.arrays["int64"], [[-1], [-1], [4]])
    # `na_values` are CSV's: JSON says missing with null, and "NA" is a string like any other.
    assert [parsed.strings["city"][i] for i in parsed.arrays["string"][:, 0]] == ["NA", "[UNK]", ""]


def test_bad_lines_are_skipped_and_recorded_with_their_reason(tmp_path):
    lines = [
        *id_objects(0, 3),
        '{"id": 3, "x": "?", "price": 1, "city": "Oslo"}',
        "not json",
        *id_objects(4, 2),
    ]
    columns = {"id": "float32", "x": "float32", "city": "string", "price": "float32"}
    parsed = read(tmp_path, lines, skip_bad_rows=True, columns=columns)
    np.testing.assert_array_equal(parsed.arrays["float32"][:, 0], [0, 1, 2, 4, 5])
    assert parsed.skipped == (
        BadRow(4, "key 'x': expected a number, found \"?\""),
        BadRow(5, "not JSON: Expecting value at character 1"),
    )
    with pytest.raises(BadFileError, match=r"^every data row is bad; the first: line 1: not JSON"):
        read(tmp_path, ["x", "y"], name="b.jsonl", columns=DECLARED, skip_bad_rows=True)


@pytest.mark.parametrize("opener", [gzip.open, bz2.open, lzma.open])
def test_a_compressed_file_reads_as_its_plain_file(tmp_path, opener):
    lines = [*id_objects(0, 500), '{"id": 500, "x": "bad", "price": 1, "city": "Oslo"}']
    plain = write_jsonl(tmp_path / "a.jsonl", lines[:-1])
    packed = write_jsonl(tmp_path / "a.jsonl.z", lines[:-1], opener=opener)
    jsonl_format = JsonlFormat(label="price", chunk_bytes=4096)
    expected, parsed = jsonl_format.read(plain), jsonl_format.read(packed)
    np.testing.assert_array_equal(parsed.arrays["float32"], expected.arrays["float32"])
    assert parsed.strings == expected.strings and parsed.compressed and parsed.lines == 500
    assert parsed.size == os.path.getsize(packed)
    bad = write_jsonl(tmp_path / "b.jsonl.z", lines, opener=opener)
    with pytest.raises(BadFileError, match="^line 501, key 'x': expected a number, found \"bad\"$"):
        jsonl_format.read(bad, expected.schema)
    with pytest.raises(BadFileError, match=r"^holds more than 1000 bytes once \w+-decompressed"):
        JsonlFormat(label="price", max_file_bytes=1000).read(packed, expected.schema)


def test_a_truncated_archive_is_not_read_half(tmp_path):
    packed = write_jsonl(tmp_path / "a.jsonl.gz", id_objects(0, 2000), opener=gzip.open)
    with open(packed, "rb+") as f:
        f.truncate(os.path.getsize(packed) // 2)
    with pytest.raises(TruncatedArchiveError, match="^is a truncated gzip archive"):
        JsonlFormat(label="price").read(packed)


def test_long_lines_blank_files_and_files_of_another_format_are_named(tmp_path):
    long = {"id": 1, "x": 1, "price": 1, "city": "x" * 200}
    assert reason(tmp_path, [*id_objects(0, 2), long], max_line_bytes=100) == (
        "line 3 is longer than the maximum of 100 bytes (max_line_bytes)"
    )
    assert reason(tmp_path, []) == "the file is empty"
    with pytest.raises(NoDataRowsError, match="^has no JSON object yet, only blank lines$"):
        read(tmp_path, ["", "  "], columns=DECLARED)
    assert reason(tmp_path, ["id,x,price", "1,2,3"]) == "the header has no label column ['price']; it has []"


def test_crlf_a_byte_order_mark_and_no_last_newline_are_read(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"x": 1, "price": 2}\r\n\r\n{"x": 3, "price": 4}')
    parsed = JsonlFormat(label="price").read(str(path))
    np.testing.assert_array_equal(parsed.arrays["float32"], [[1, 2], [3, 4]])
    assert parsed.lines == 3 and parsed.size == os.path.getsize(path)


def test_numbers_read_as_the_csv_format_reads_them(tmp_path):
    rng = np.random.default_rng(0)
    texts = [f"{v:.17g}" for v in rng.normal(scale=1e3, size=300)]
    texts += ["16777217", "1e-46", "3.4028235e38", "0.1", "-0"]
    # Decimals next to float32 rounding midpoints, where float64 then float32 rounds otherwise.
    texts += ["1.00000005960464477539", "1.000000059604644775390625000001", "0.500000029802322387695"]
    write_csv(tmp_path / "a.csv", [(t, 1) for t in texts], header=("x", "price"))
    write_jsonl(tmp_path / "a.jsonl", [f'{{"x": {t}, "price": 1}}' for t in texts])
    from_csv = CsvFormat(label="price", parser="tensorflow").read(str(tmp_path / "a.csv"))
    from_jsonl = JsonlFormat(label="price").read(str(tmp_path / "a.jsonl"))
    assert from_jsonl.arrays["float32"].tobytes() == from_csv.arrays["float32"].tobytes()
    assert from_jsonl.notes == from_csv.notes and len(from_jsonl.notes) == 2


def test_the_arrow_and_python_parsers_give_the_same_rows(tmp_path):
    rng = np.random.default_rng(1)
    lines = []
    for i in range(400):
        city = [None, "Oslo", "São Paulo", 'say "hi"', "Lima"][i % 5]
        line = {"id": i, "rooms": int(rng.integers(-5, 5)), "price": float(rng.normal())}
        if city is not None:
            line["city"] = city
        lines.append(json.dumps(line) + ("\n\n" if i % 37 == 0 else "\n"))
    data = "".join(lines).encode()
    schema = JsonlFormat(label="price", columns=DECLARED).declared
    plan = key_plan(schema, {"city": "[UNK]"}, {})
    fast, slow = arrow_lines(data, plan, 1 << 20), python_lines(data, 1, plan, False)
    assert fast is not None and set(fast.keys) == set(slow.keys) == {"id", "rooms", "price", "city"}
    (floats, ints, ids), ((cities),), losses = fast.part
    assert floats.tobytes() == slow.part[0][0].tobytes() and ints.tobytes() == slow.part[0][1].tobytes()
    assert losses == slow.part[2]
    # Each parser numbers a chunk's strings its own way (`FileRows` renumbers them by the file's).
    assert [cities[i] for i in ids[:, 0]] == [slow.part[1][0][i] for i in slow.part[0][2][:, 0]]
    assert [cities[i] for i in ids[:5, 0]] == ["[UNK]", "Oslo", "São Paulo", 'say "hi"', "Lima"]
    # A string column that holds a number: Arrow cannot type it, so Python reads it, as written.
    assert arrow_lines(b'{"id": 1, "rooms": 1, "price": 1, "city": 10.50}\n', plan, 1 << 20) is None


def test_lines_appended_are_read_from_where_reading_stopped(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", id_objects(0, 3))
    jsonl_format = JsonlFormat(label="price")
    parsed = jsonl_format.read(path)
    start = os.path.getsize(path)
    write_jsonl_append(path, [*id_objects(3, 2), '{"id": 5, "x": "no", "price": 1}'])
    end = os.path.getsize(path)
    with pytest.raises(BadFileError, match="^line 6, key 'x': expected a number"):
        jsonl_format.read_lines(path, parsed.schema, False, {}, start, end, 4)
    appended = jsonl_format.read_lines(path, parsed.schema, True, {}, start, end, 4)
    np.testing.assert_array_equal(appended.arrays["float32"][:, 0], [3, 4])
    assert appended.lines == 3 and appended.skipped[0].line == 6 and appended.size == end - start


def write_jsonl_append(path, rows):
    with open(path, "a") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")


# Through the ingest: the same contract as CSV.


def poll(folder, **options):
    data = kgd.GrowingDataCallback(folder, **{"label": "price", "settle_seconds": 0, **options})
    data.poll()
    return data


def test_a_bad_file_is_rejected_whole_and_quarantined_with_its_reason(folder):
    good = write_jsonl(
        folder / "good.jsonl", id_objects(0, 4), mtime=OLD - 1
    )  # The first: it sets the schema.
    write_jsonl(folder / "bad.ndjson", [*id_objects(4, 2), {"id": 6, "x": [1], "price": 1, "city": "Oslo"}])
    data = poll(folder, on_bad_file="quarantine")
    assert list(data.accepted) == [good] and data.num_rows == 4
    [rejected] = data.rejected.values()
    expected = "line 3, key 'x': expected a number, found a list; nested objects and lists are not read"
    assert rejected.reason.startswith(expected)
    assert rejected.moved_to == str(folder / "_rejected" / "bad.ndjson")
    assert f"bad.ndjson: {expected}" in (folder / "_rejected" / "bad.ndjson.reason.txt").read_text()


def test_a_restart_with_state_dir_reads_nothing_twice_and_keeps_the_ids(folder, tmp_path):
    write_jsonl(folder / "a.jsonl", id_objects(0, 5))
    options = {"settle_seconds": 0, "state_dir": tmp_path / "state"}
    first = build_ingest(folder, "price", **options)
    first.poll()
    assert first.num_rows == 5 and first.vocabulary("city") == ["[UNK]", "Oslo", "Lima"]
    del first
    write_jsonl(folder / "b.jsonl", [{"id": 5, "x": 1, "price": 3, "city": "Rome"}])
    again = build_ingest(folder, "price", **options)
    assert again.num_rows == 5 and again.poll() == [str(folder / "b.jsonl")] and again.num_rows == 6
    assert again.vocabulary("city") == ["[UNK]", "Oslo", "Lima", "Rome"]


def test_storage_on_disk_and_in_memory_hold_the_same_rows(folder, tmp_path):
    write_jsonl(folder / "a.jsonl", id_objects(0, 3000), opener=open)
    in_memory = poll(folder, seed=1)
    on_disk = poll(folder, seed=1, storage="disk", storage_dir=tmp_path / "rows")
    assert on_disk.num_rows == in_memory.num_rows == 3000
    batches = [list(data.epoch_dataset(0).as_numpy_iterator()) for data in (in_memory, on_disk)]
    for (x1, y1), (x2, y2) in zip(*batches, strict=True):
        assert x1.keys() == x2.keys() and all(np.array_equal(x1[k], x2[k]) for k in x1)
        np.testing.assert_array_equal(y1, y2)


def test_a_window_keeps_the_newest_files(folder):
    for day in range(3):
        write_jsonl(folder / f"day-{day}.jsonl", id_objects(10 * day, 4), mtime=OLD + day)
    data = poll(folder, window=kgd.Window(files=2))
    assert data.num_rows == 8 and [os.path.basename(p) for p in data.in_window] == [
        "day-1.jsonl",
        "day-2.jsonl",
    ]


def test_folder_names_give_columns_and_a_file_that_has_the_key_too_is_rejected(folder):
    (folder / "dt=2026-12-01" / "hour=03").mkdir(parents=True)
    good = write_jsonl(folder / "dt=2026-12-01" / "hour=03" / "a.jsonl", id_objects(0, 3, city=False))
    bad = write_jsonl(
        folder / "dt=2026-12-01" / "hour=03" / "b.jsonl", [{"id": 9, "x": 1, "price": 1, "dt": "x"}]
    )
    columns = {"id": "float32", "x": "float32", "dt": "string", "hour": "int64", "price": "float32"}
    data = poll(folder, recursive=True, partition_columns=True, columns=columns, features="dict")
    assert list(data.accepted) == [good]
    assert data.rejected[bad].reason == "has the key 'dt', which its folder 'dt=2026-12-01' gives as well"
    x, _ = next(iter(data.epoch_dataset(0)))
    assert set(x["dt"].numpy()) == {b"2026-12-01"} and set(x["hour"].numpy()) == {3}


def test_strings_take_the_same_ids_as_from_csv(folder, tmp_path):
    csv_folder = tmp_path / "csv"
    csv_folder.mkdir()
    objects = [
        {"id": i, "x": 1, "price": 2, "city": c} for i, c in enumerate(["Lima", "Oslo", "Lima", "Rome"])
    ]
    write_jsonl(folder / "a.jsonl", objects)
    write_csv(csv_folder / "a.csv", [tuple(o.values()) for o in objects], header=("id", "x", "price", "city"))
    from_jsonl, from_csv = (poll(f, strings_as="index", shuffle=False) for f in (folder, csv_folder))
    assert from_jsonl.schema == from_csv.schema
    assert from_jsonl.vocabulary("city") == from_csv.vocabulary("city") == ["[UNK]", "Lima", "Oslo", "Rome"]
    ids = [next(iter(d.epoch_dataset(0)))[0]["city"].numpy().tolist() for d in (from_jsonl, from_csv)]
    assert ids[0] == ids[1]


def test_lines_appended_to_a_tailed_file_join_once_across_a_restart(folder, tmp_path):
    path = write_jsonl(folder / "log.jsonl", id_objects(0, 3))
    with open(path, "a") as f:
        f.write('{"id": 3, "x": 1, "pri')  # A line still being written.
    options = {"settle_seconds": 0, "appends": "tail", "state_dir": tmp_path / "state"}
    ingest = build_ingest(folder, "price", **options)
    ingest.poll()
    assert ingest.num_rows == 3
    with open(path, "a") as f:
        f.write('ce": 3, "city": "Oslo"}\n{"id": 4, "x": 2, "price": 5, "city": "Lima"}\n')
    ingest.poll()
    ingest.poll()
    assert ingest.num_rows == 5
    del ingest
    write_jsonl_append(path, id_objects(5, 2))
    again = build_ingest(folder, "price", **options)
    again.poll()
    assert again.num_rows == 7 and again.accepted[path].rows == 7
    order = [int(v) for batch in again.dataset(64, False, None) for v in batch["float32"].numpy()[:, 0]]
    assert order == list(range(7))


def test_status_reads_a_folder_of_json_lines(folder, capsys):
    write_jsonl(folder / "a.jsonl", id_objects(0, 4))
    write_jsonl(folder / "b.ndjson.gz", id_objects(4, 2), opener=gzip.open)
    write_jsonl(folder / "bad.jsonl", ['{"id": 1, "x": "n/a", "price": 1, "city": "Oslo"}'])
    assert main(["status", str(folder), "--label", "price"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{folder}: 2 accepted (6 rows), 0 pending, 1 rejected",
        "accepted  a.jsonl      4 rows",
        "accepted  b.ndjson.gz  2 rows",
        "rejected  bad.jsonl    line 1, key 'x': expected a number, found \"n/a\"",
    ]


def test_a_follower_agrees_with_the_chief_on_schema_and_string_ids(folder):
    import tensorflow as tf

    from keras_growing_data.distribute.follower_ingest import ingest_snapshot

    write_jsonl(folder / "a.jsonl", [{"id": 0, "x": 1, "price": 1, "city": "Rome"}, *id_objects(1, 6)])
    write_jsonl(folder / "b.jsonl.gz", id_objects(7, 3), mtime=OLD + 1, opener=gzip.open)
    options = {"label": "price", "settle_seconds": 0, "strings_as": "index"}
    chief = kgd.WorkerDataCallback(folder, batch_size=4, strategy=tf.distribute.get_strategy(), **options)
    chief.epoch_dataset(0)
    follower = build_ingest(folder, label="price", settle_seconds=0)
    assert ingest_snapshot(follower, chief.snapshots[0]) == [
        str(folder / "a.jsonl"),
        str(folder / "b.jsonl.gz"),
    ]
    assert follower.num_rows == chief.num_rows == 10 and follower.schema == chief.ingest.schema
    assert follower.vocabulary("city") == chief.vocabulary("city") == ["[UNK]", "Rome", "Lima", "Oslo"]
