import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from helpers import OLD, id_rows, run_python, write_csv

import keras_growing_data as kgd
from keras_growing_data.formats import opening
from keras_growing_data.sources.ingest_parts import build_ingest
from keras_growing_data.sources.verdicts import RECHECKS_PER_POLL

NUMBERS = {"id": "float32", "x": "float32", "price": "float32"}
HOSTILE = {
    "zero.csv": (b"", "the file is empty"),
    "header_only.csv": (b"id,x,price\n", "header but no data rows"),
    "garbage.csv": (bytes(range(256)) * 8, None),
    "latin1.csv": ("id,x,price\n1,2,3\n\xe9,1,1\n".encode("latin-1"), "line 3, column 'id': not valid UTF-8"),
    "dup.csv": (b"id,id,price\n1,2,3\n", "repeats column names ['id']"),
    "nolabel.csv": (b"id,x\n1,2\n", "no label column ['price']"),
    "text.csv": (b"id,x,price\n1,two,3\n", "line 2, column 'x': expected a number, found 'two'"),
    "few.csv": (b"id,x,price\n1,2\n", "line 2: expected 3 fields, found 2"),
    "many.csv": (b"id,x,price\n1,2,3,4\n", "line 2: expected 3 fields, found 4"),
    "nan.csv": (
        b"id,x,price\n1,NaN,3\n",
        "line 2, column 'x': missing value 'NaN', and the column has no default",
    ),
    "infinity.csv": (
        b"id,x,price\n1,Infinity,3\n",
        "line 2, column 'x': expected a finite number, found 'Infinity'",
    ),
    "inf.csv": (b"id,x,price\n1,2,-inf\n", "line 2, column 'price': expected a finite number"),
    "huge.csv": (b"1e39,2,3\n", None),
    "empty_field.csv": (
        b"id,x,price\n1,,3\n",
        "line 2, column 'x': missing value '', and the column has no default",
    ),
    "lacks_id.csv": (
        b"x,price\n1,3\n",
        "the header has no column ['id'] of the schema, and no default fills it",
    ),
    "long_line.csv": (b"id,x,price\n" + b"1" * (2 << 20) + b",2,3\n", "longer than the maximum"),
}


def write_bytes(path, data, mtime=OLD):
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))
    return str(path)


@pytest.mark.parametrize("parser", ["auto", "tensorflow"])
def test_hostile_files_are_rejected_whole_and_good_ones_kept(folder, caplog, parser):
    good = write_csv(folder / "a_good.csv", 5)  # Sorted first: it sets the schema.
    for name, (data, _) in HOSTILE.items():
        write_bytes(folder / name, data)
    (folder / "dir.csv").mkdir()
    os.symlink(folder / "missing", folder / "broken.csv")
    ingest = build_ingest(folder, label="price", settle_seconds=0, parser=parser)
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert ingest.poll() == [good]
    assert ingest.num_rows == 5
    reasons = {os.path.basename(p): r.reason for p, r in ingest.rejected.items()}
    assert set(reasons) == set(HOSTILE) | {"dir.csv", "broken.csv"}
    for name, (_, expected) in HOSTILE.items():
        if expected is not None:
            assert expected in reasons[name], name
    assert reasons["dir.csv"] == "is a directory"
    assert reasons["broken.csv"].startswith("is a broken symbolic link")
    assert sum("Rejected" in r.message for r in caplog.records) == len(reasons)
    assert ingest.poll() == []  # Nothing is judged again while unchanged.


PASSWD = (
    "root:x:0:0:System Administrator Account:/root:/usr/local/bin/secret-shell\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
)


@pytest.mark.parametrize("parser", ["auto", "tensorflow"])
def test_a_file_that_is_not_csv_is_quoted_only_in_short_escaped_excerpts(folder, tmp_path, parser):
    passwd = write_bytes(tmp_path / "passwd", PASSWD.encode())
    os.link(passwd, folder / "x.csv")  # A hard link: it is a regular file in the folder.
    binary = write_bytes(folder / "binary.csv", random.Random(0).randbytes(4096).replace(b"\n", b"\x00"))
    secret = "token=" + "s3cr3t" * 20
    long_value = write_bytes(folder / "long.csv", f"id,x,price\n1,{secret},3\n".encode())
    control = write_bytes(folder / "control.csv", b"id,x,price\n1,\x00\x01\x1b[31mred,3\n")
    ingest = build_ingest(folder, label="price", settle_seconds=0, parser=parser, columns=NUMBERS)
    assert ingest.poll() == []
    reasons = {path: record.reason for path, record in ingest.rejected.items()}
    assert reasons[str(folder / "x.csv")] == (
        "the header has no label column ['price']; it has ['root:x:0:0:System Administrator Account:'…]"
    )
    assert reasons[binary] == "line 1 (the header) is not valid UTF-8"
    assert (
        reasons[long_value]
        == "line 2, column 'x': expected a number, found 'token=s3cr3ts3cr3ts3cr3ts3cr3ts3cr3ts3cr'…"
    )
    assert reasons[control] == r"line 2, column 'x': expected a number, found '\x00\x01\x1b[31mred'"
    for reason in reasons.values():
        assert len(reason) <= 120 and reason.isprintable()
        assert "secret-shell" not in reason and "daemon" not in reason and secret not in reason


@pytest.mark.parametrize("parser", ["pandas", "tensorflow"])
@pytest.mark.parametrize("columns", [None, {"x": "float32", "y": "float32"}], ids=["inferred", "declared"])
def test_a_digit_separator_is_named_by_its_line_and_column(folder, parser, columns):
    write_bytes(folder / "a.csv", b"x,y\n1,2\n")  # The oldest: with columns=None, x is float32 from it.
    bad = write_bytes(folder / "b.csv", b"x,y\n1,2\n1_000,2\n", mtime=OLD + 1)
    ingest = build_ingest(folder, label="y", settle_seconds=0, parser=parser, columns=columns)
    ingest.poll()
    assert ingest.schema.dtypes == {"x": "float32", "y": "float32"}
    assert ingest.rejected[bad].reason == "line 3, column 'x': expected a number, found '1_000'"


def test_people_csv_is_accepted_with_the_right_values(folder):
    text = '\ufeff"id", "x" ,price\r\n1, 2.5, 3\r\n"4",5,6\r\n\r\n\n7,8,9'
    path = write_bytes(folder / "a.csv", text.encode())
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    assert ingest.poll() == [path]
    rows = np.concatenate([b["float32"].numpy() for b in ingest.store.dataset(10, shuffle=False)])
    np.testing.assert_array_equal(rows, [[1, 2.5, 3], [4, 5, 6], [7, 8, 9]])


def test_quarantine_moves_the_file_next_to_its_reason(folder):
    path = write_bytes(folder / "bad.csv", b"id,x,price\n1,oops,3\n")
    ingest = build_ingest(folder, label="price", settle_seconds=0, on_bad_file="quarantine", columns=NUMBERS)
    ingest.poll()
    moved = folder / "_rejected" / "bad.csv"
    assert not os.path.exists(path) and moved.exists()
    assert ingest.rejected[path].moved_to == str(moved)
    reason = (folder / "_rejected" / "bad.csv.reason.txt").read_text()
    assert "line 2, column 'x': expected a number, found 'oops'" in reason
    assert ingest.poll() == []  # The quarantine folder is not watched.


@pytest.mark.parametrize("parser", ["auto", "tensorflow"])
def test_skipping_bad_rows_keeps_the_good_ones_and_records_the_rest(folder, parser):
    lines = ["id,x,price", "0,1,1", "1,bad,1", "2,1,1", "3,1", "4,nan,1", "5,1,1"]
    path = write_bytes(folder / "a.csv", ("\n".join(lines) + "\n").encode())
    ingest = build_ingest(
        folder, label="price", settle_seconds=0, on_bad_row="skip", parser=parser, columns=NUMBERS
    )
    assert ingest.poll() == [path]
    record = ingest.accepted[path]
    assert record.rows == 3
    assert [(b.line, b.reason.split(":")[0]) for b in record.skipped] == [
        (3, "column 'x'"),
        (5, "expected 3 fields, found 2"),
        (6, "column 'x'"),
    ]
    ids = sorted(np.concatenate([b["float32"].numpy()[:, 0] for b in ingest.store.dataset(4)]))
    assert ids == [0, 2, 5]
    assert ingest.rows_skipped == 3


def test_a_file_that_changes_while_read_is_rejected_until_it_changes_again(folder):
    path = write_csv(folder / "a.csv", 5)
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    [listed] = ingest.watcher.complete_files()
    write_csv(path, 3, mtime=OLD + 1)  # Shrinks between listing and reading.
    assert not ingest.ingest_files([listed])
    assert ingest.rejected[path].reason.startswith("changed while being read")
    os.remove(path)
    assert not ingest.ingest_files([listed])
    assert ingest.rejected[path].reason == "vanished while being read"
    write_csv(path, 3, mtime=OLD + 2)
    assert ingest.poll() == [path]
    assert ingest.num_rows == 3


def test_slow_writers_appending_in_place_never_leak_a_partial_file(folder):
    writers, rows_each = 4, 30
    # A writer pauses up to 10 ms between half-lines; a busy machine may stretch a
    # pause, and a pause longer than settle_seconds lets a partial file through by
    # design. 2 s is 200 times the longest pause asked for.
    ingest = build_ingest(folder, label="price", settle_seconds=2.0)
    done = threading.Event()
    polled_rows = []

    def write(n):
        rng = random.Random(n)
        with open(folder / f"w{n}.csv", "w") as f:
            f.write("id,x,price\n")
            for i in range(n * 1000, n * 1000 + rows_each):
                row = f"{i},{i % 7},1\n"
                cut = rng.randrange(len(row))
                f.write(row[:cut])  # Half a line, visible to the polls.
                f.flush()
                time.sleep(rng.uniform(0, 0.01))
                f.write(row[cut:])
                f.flush()

    def poll_until_done():
        while not done.is_set():
            ingest.poll()
            polled_rows.append(ingest.num_rows)
            time.sleep(0.003)

    poller = threading.Thread(target=poll_until_done)
    poller.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 120  # Only bounds a failing run.
    while ingest.num_rows < writers * rows_each and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    poller.join()
    assert ingest.rejected == {}
    assert {os.path.basename(p): r.rows for p, r in ingest.accepted.items()} == {
        f"w{n}.csv": rows_each for n in range(writers)
    }
    assert all(rows % rows_each == 0 for rows in polled_rows), "a partial file was accepted"
    ids = sorted(np.concatenate([b["float32"].numpy()[:, 0] for b in ingest.store.dataset(50)]).astype(int))
    assert ids == [i for n in range(writers) for i in range(n * 1000, n * 1000 + rows_each)]


def test_state_survives_a_restart_without_reparsing(folder, tmp_path):
    state = str(tmp_path / "state")
    a = write_csv(folder / "a.csv", id_rows(0, 4))
    b = write_csv(folder / "b.csv", id_rows(4, 3))
    bad = write_bytes(folder / "bad.csv", b"id,x,price\n1,no,3\n")
    first = build_ingest(folder, label="price", settle_seconds=0, state_dir=state)
    first.poll()
    first.record_epoch(0)
    os.remove(a)  # Deleted since: its rows stay.
    write_csv(b, id_rows(100, 9), mtime=OLD + 5)  # Changed since: not read again.
    restarted = build_ingest(folder, label="price", settle_seconds=0, state_dir=state)
    assert list(restarted.accepted) == [a, b]
    assert restarted.num_rows == 7
    assert list(restarted.rejected) == [bad]
    assert restarted.poll() == []
    assert list(restarted.rejected) == [bad]
    ids = sorted(np.concatenate([b["float32"].numpy()[:, 0] for b in restarted.store.dataset(5)]).astype(int))
    assert ids == list(range(7))
    assert restarted.lineage[0].files == (a, b) and restarted.lineage[0].rows == 7


def test_state_for_other_labels_is_refused(folder, tmp_path):
    write_csv(folder / "a.csv", 2)
    build_ingest(folder, label="price", settle_seconds=0, state_dir=tmp_path / "s").poll()
    with pytest.raises(ValueError, match="written for labels"):
        build_ingest(folder, label="x", settle_seconds=0, state_dir=tmp_path / "s")


def test_invalid_policies_are_refused(folder):
    with pytest.raises(ValueError, match="on_bad_file"):
        build_ingest(folder, label="price", on_bad_file="delete")
    with pytest.raises(ValueError, match="on_bad_row"):
        build_ingest(folder, label="price", on_bad_row="fill")


def test_rows_saved_just_before_a_crash_are_parsed_again_and_counted_once(folder, tmp_path):
    state = tmp_path / "state"
    write_csv(folder / "a.csv", id_rows(0, 3))
    build_ingest(folder, label="price", settle_seconds=0, state_dir=state).poll()
    assert not (state / "journal-0.log").exists()  # a is in the first snapshot.
    b = write_csv(folder / "b.csv", id_rows(3, 4))
    build_ingest(folder, label="price", settle_seconds=0, state_dir=state).poll()
    (state / "journal-0.log").write_bytes(b"")  # Killed after b's rows were written, before its record.
    restarted = build_ingest(folder, label="price", settle_seconds=0, state_dir=state)
    assert list(restarted.accepted) == [str(folder / "a.csv")]
    assert restarted.poll() == [b]
    assert restarted.accepted[b].rows == 4 and restarted.num_rows == 7 and restarted.rejected == {}
    ids = sorted(np.concatenate([x["float32"].numpy()[:, 0] for x in restarted.store.dataset(5)]).astype(int))
    assert ids == list(range(7))


def test_a_file_that_changes_while_read_is_never_quarantined(folder):
    path = write_csv(folder / "a.csv", 5)
    ingest = build_ingest(folder, label="price", settle_seconds=0, on_bad_file="quarantine")
    [listed] = ingest.watcher.complete_files()
    write_csv(path, 6, mtime=OLD + 1)  # A writer is still at it.
    assert not ingest.ingest_files([listed])
    assert os.path.exists(path) and ingest.rejected[path].moved_to is None
    assert ingest.poll() == [path] and ingest.num_rows == 6


def test_a_restart_that_spells_the_folder_differently_counts_nothing_twice(folder, tmp_path, monkeypatch):
    write_csv(folder / "a.csv", 4)
    state = tmp_path / "state"
    build_ingest(folder, label="price", settle_seconds=0, state_dir=state).poll()
    monkeypatch.chdir(folder.parent)
    again = build_ingest("./incoming/", label="price", settle_seconds=0, state_dir=state)
    assert again.poll() == [] and again.num_rows == 4
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ValueError, match="was written for the folder"):
        build_ingest(other, label="price", settle_seconds=0, state_dir=state)


def test_a_field_longer_than_the_csv_module_takes_is_judged_not_raised(folder):
    write_bytes(folder / "a.csv", b"id,x,price\n1," + b"9" * 200_000 + b",3\n")
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    assert ingest.poll() == []
    [reason] = [r.reason for r in ingest.rejected.values()]
    assert reason.startswith("line 2, column 'x': expected a finite number, found '99999")


def test_changes_to_many_accepted_files_are_each_warned_once_within_a_few_polls(folder, caplog):
    paths = [write_csv(folder / f"f{i:03d}.csv", id_rows(i, 1)) for i in range(150)]
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    assert len(ingest.poll()) == 150
    for path in (paths[0], paths[77], paths[149]):
        with open(path, "a") as f:
            f.write("999,1,1\n")
    new = write_csv(folder / "g.csv", id_rows(500, 2))
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert ingest.poll() == [new]  # New files are never put off.
        for _ in range(-(-150 // RECHECKS_PER_POLL) * 2):
            assert ingest.poll() == []
    warned = sorted(r.args[0] for r in caplog.records if "after it was accepted" in r.getMessage())
    assert warned == sorted([paths[0], paths[77], paths[149]])
    assert ingest.num_rows == 152


def test_rejected_files_left_in_place_are_looked_at_a_few_per_poll_and_judged_again_once_changed(folder):
    bad = [write_bytes(folder / f"bad{i:03d}.csv", b"id,x,price\n") for i in range(200)]
    good = write_csv(folder / "good.csv", id_rows(0, 2))
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    assert ingest.poll() == [good]
    assert len(ingest.rejected) == 200
    looked_at = ingest.watcher.files_looked_at
    assert ingest.poll() == []
    assert ingest.watcher.files_looked_at - looked_at == 1 + RECHECKS_PER_POLL  # Not 1 + 200.
    write_csv(bad[150], id_rows(2, 3), mtime=OLD + 1)  # Its producer fixed it.
    polls = 0
    while bad[150] not in ingest.accepted and polls < -(-200 // RECHECKS_PER_POLL):
        ingest.poll()
        polls += 1
    assert bad[150] in ingest.accepted
    assert (len(ingest.rejected), ingest.num_rows) == (199, 5)


def test_the_schema_comes_from_the_oldest_file_of_the_first_poll(folder):
    stray = write_bytes(folder / "a_stray.csv", b"id,x,price\n1,oops,3\n", mtime=OLD + 10)
    write_csv(folder / "b.csv", id_rows(0, 4), mtime=OLD)
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    assert ingest.poll() == [str(folder / "b.csv")]  # Oldest first, then by name.
    assert ingest.schema.dtypes == {"id": "float32", "x": "float32", "price": "float32"}
    assert ingest.rejected[stray].reason == "line 2, column 'x': expected a number, found 'oops'"
    again = build_ingest(folder, label="price", settle_seconds=0)
    write_bytes(folder / "c.csv", b"id,x,price\n1,2,3\n", mtime=OLD - 10)
    assert again.poll() == [str(folder / "c.csv"), str(folder / "b.csv")]


def test_extra_columns_are_recorded_on_each_file_and_logged_once(folder, caplog):
    columns = {"id": "float32", "x": "float32", "price": "float32"}
    for name in ("a.csv", "b.csv"):
        write_bytes(folder / name, b"note,price,x,id\nhi,3,2,1\n")
    write_bytes(folder / "c.csv", b"price,id,x\n3,1,2\n")
    ingest = build_ingest(folder, label="price", settle_seconds=0, columns=columns)
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        assert len(ingest.poll()) == 3
    assert [record.ignored for record in ingest.accepted.values()] == [("note",), ("note",), ()]
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Ignoring the columns")]
    assert logged == [
        f"Ignoring the columns ['note'] of {folder / 'a.csv'}, which the schema does not have "
        "(not logged again for files with the same ones; each file's record lists them)"
    ]
    rows = np.concatenate([b["float32"].numpy() for b in ingest.store.dataset(10, shuffle=False)])
    np.testing.assert_array_equal(rows, [[1, 2, 3]] * 3)


def string_rows(ingest):
    """Each stored row's city, by its id."""
    vocabulary = ingest.vocabulary("city")
    batches = ingest.store.dataset(100, shuffle=False)
    return [vocabulary[i] for b in batches for i in b["string"].numpy()[:, 0]]


def test_string_ids_only_grow_and_survive_a_restart(folder, tmp_path):
    state = tmp_path / "state"
    write_bytes(folder / "a.csv", b"city,price\nOslo,1\nLima,2\nOslo,3\n")
    first = build_ingest(folder, label="price", settle_seconds=0, state_dir=state, defaults={"city": "[UNK]"})
    first.poll()
    assert first.vocabulary("city") == ["[UNK]", "Oslo", "Lima"]
    write_bytes(folder / "b.csv", b"price,city\n4,Rome\n5,Lima\n6,\n", mtime=OLD + 1)
    first.poll()
    assert first.vocabulary("city") == ["[UNK]", "Oslo", "Lima", "Rome"]  # Appended; "" is missing: id 0.
    before = string_rows(first)
    restarted = build_ingest(
        folder, label="price", settle_seconds=0, state_dir=state, defaults={"city": "[UNK]"}
    )
    assert restarted.vocabulary("city") == first.vocabulary("city")
    assert string_rows(restarted) == before == ["Oslo", "Lima", "Oslo", "Rome", "Lima", "[UNK]"]
    write_bytes(folder / "c.csv", b"city,price\nBern,7\nOslo,8\n", mtime=OLD + 2)
    restarted.poll()
    assert restarted.vocabulary("city") == ["[UNK]", "Oslo", "Lima", "Rome", "Bern"]
    with pytest.raises(ValueError, match="written for columns, defaults and na_values"):
        build_ingest(folder, label="price", settle_seconds=0, state_dir=state)


def test_a_rejected_file_adds_no_strings(folder):
    write_bytes(folder / "a.csv", b"city,price\nOslo,1\n")
    write_bytes(folder / "b.csv", b"city,price\nRome,1\nLima,x\n", mtime=OLD + 1)
    write_bytes(folder / "c.csv", b"city,price\nBern,1\nLima,\nNA,2\n", mtime=OLD + 2)
    ingest = build_ingest(folder, label="price", settle_seconds=0, on_bad_row="skip")
    ingest.poll()
    assert ingest.rejected == {} and ingest.accepted[str(folder / "b.csv")].rows == 1
    assert [b.reason for b in ingest.accepted[str(folder / "c.csv")].skipped] == [
        "column 'price': missing value '', and the column has no default",
        "column 'city': missing value 'NA', and the column has no default",
    ]
    assert ingest.vocabulary("city") == ["[UNK]", "Oslo", "Rome", "Bern"]  # Lima's lines were bad.
    strict = build_ingest(folder, label="price", settle_seconds=0)
    strict.poll()
    assert sorted(strict.rejected) == [str(folder / "b.csv"), str(folder / "c.csv")]
    assert strict.vocabulary("city") == ["[UNK]", "Oslo"]


def test_defaults_may_name_columns_the_first_file_lacks_and_numpy_values(folder, tmp_path):
    write_bytes(folder / "a.csv", b"area,price\n1.5,3\n")
    write_bytes(folder / "b.csv", b"price,area,city\n4,2.5,Oslo\n", mtime=OLD + 1)
    write_bytes(folder / "c.csv", b"city,price\nLima,5\n", mtime=OLD + 2)
    defaults = {"city": "[UNK]", "area": np.float32(-1)}
    ingest = build_ingest(
        folder, label="price", settle_seconds=0, defaults=defaults, state_dir=tmp_path / "s"
    )
    assert [os.path.basename(p) for p in ingest.poll()] == ["a.csv", "b.csv", "c.csv"]
    # The first file has no city: its default puts it in the schema, so later files may hold it.
    assert ingest.schema.dtypes == {"area": "float32", "price": "float32", "city": "string"}
    rows = np.concatenate([b["float32"].numpy() for b in ingest.store.dataset(10, shuffle=False)])
    np.testing.assert_array_equal(rows, [[1.5, 3], [2.5, 4], [-1, 5]])
    assert string_rows(ingest) == ["[UNK]", "Oslo", "Lima"]
    restarted = build_ingest(
        folder, label="price", settle_seconds=0, defaults=defaults, state_dir=tmp_path / "s"
    )
    assert restarted.num_rows == 3 and string_rows(restarted) == ["[UNK]", "Oslo", "Lima"]


def test_a_file_without_any_feature_column_is_rejected_even_with_defaults(folder):
    write_bytes(folder / "a.csv", b"price,note\n3,x\n")
    columns = {"area": "float32", "city": "string", "price": "float32"}
    ingest = build_ingest(
        folder, label="price", settle_seconds=0, columns=columns, defaults={"area": 0, "city": ""}
    )
    assert ingest.poll() == []
    assert ingest.rejected[str(folder / "a.csv")].reason == (
        "the header has none of the schema's feature columns ['area', 'city']; it has ['price', 'note']"
    )


def test_a_named_pipe_or_socket_is_rejected_without_being_opened(folder):
    os.mkfifo(folder / "b.csv")  # Opening it would block until a writer comes.
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(folder / "c.csv"))
        good = write_csv(folder / "d.csv", 3)
        ingest = build_ingest(folder, label="price", settle_seconds=0, on_bad_file="quarantine")
        polled = []
        poller = threading.Thread(target=lambda: polled.append(ingest.poll()), daemon=True)
        poller.start()
        poller.join(600)  # Only bounds a hang.
        assert polled == [[good]]
    assert {os.path.basename(p): r.reason for p, r in ingest.rejected.items()} == {
        "b.csv": "is a named pipe (FIFO), not a regular file; only regular files are read",
        "c.csv": "is a socket, not a regular file; only regular files are read",
    }
    assert all(r.moved_to is None for r in ingest.rejected.values())
    assert os.path.exists(folder / "b.csv") and not os.path.exists(folder / "_rejected")


@pytest.mark.parametrize("state", [False, True])
def test_a_file_name_that_is_not_utf8_is_ingested_and_restored(folder, tmp_path, state):
    state_dir = tmp_path / "state" if state else None
    name = os.path.join(os.fsencode(folder), b"caf\xe9.csv")
    with open(name, "wb") as f:
        f.write(b"id,x,price\n1,2,3\n")
    os.utime(name, (OLD, OLD))
    after = write_csv(folder / "z.csv", id_rows(5, 2))
    ingest = build_ingest(folder, label="price", settle_seconds=0, state_dir=state_dir)
    taken = ingest.poll()
    assert taken == [os.fsdecode(name), after] and ingest.num_rows == 3 and ingest.rejected == {}
    if state:
        restarted = build_ingest(folder, label="price", settle_seconds=0, state_dir=state_dir)
        assert list(restarted.accepted) == taken and restarted.poll() == []


def test_a_file_that_cannot_be_read_now_waits_and_is_never_quarantined(folder, monkeypatch, caplog):
    path = write_csv(folder / "a.csv", 4)
    denied = {path}
    real_open = opening.open_file

    def flaky_open(name):  # As an NFS hiccup or a permission not yet granted would.
        if name in denied:
            raise PermissionError(13, "Permission denied", name)
        return real_open(name)

    monkeypatch.setattr(opening, "open_file", flaky_open)
    ingest = build_ingest(folder, label="price", settle_seconds=0, on_bad_file="quarantine")
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert ingest.poll() == []
    assert ingest.rejected == {} and os.path.exists(path)
    assert ingest.waiting[path].reason == "cannot be read now: Permission denied"
    assert ingest.waiting[path].attempts == 1
    assert "trying again in 1 s (attempt 1)" in caplog.text
    denied.clear()
    deadline = time.monotonic() + 600  # Only bounds a failing run: the retry comes after 1 s.
    while not ingest.poll() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(ingest.accepted) == [path] and ingest.num_rows == 4 and ingest.waiting == {}


def test_a_replacement_with_the_same_size_and_time_is_seen(folder, caplog):
    accepted = write_csv(folder / "a.csv", id_rows(0, 3))
    bad = write_bytes(folder / "b.csv", b"id,x,price\n1,oops,3\n")
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    assert ingest.poll() == [accepted] and list(ingest.rejected) == [bad]
    # rsync -a: a new file renamed over the old one, size and modification time kept.
    write_bytes(folder / "fixed.tmp", b"id,x,price\n1,2.25,3\n")
    os.replace(folder / "fixed.tmp", bad)
    # cp -p: the same file rewritten in place, its time set back.
    text = open(accepted).read()
    write_bytes(accepted, text.replace("0,", "9,", 1).encode())
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert ingest.poll() == [bad]
    assert ingest.rejected == {} and ingest.num_rows == 4
    assert [r.args[0] for r in caplog.records if "after it was accepted" in r.getMessage()] == [accepted]


def test_only_regular_files_are_quarantined_and_long_names_keep_their_reason(folder, caplog):
    (folder / "archive.csv").mkdir()
    (folder / "archive.csv" / "inner.txt").write_text("kept")
    long_name = "x" * 247 + ".csv"  # 251 bytes: its reason file's name would be 262.
    bad = write_bytes(folder / long_name, b"id,x,price\n1,oops,3\n")
    ingest = build_ingest(folder, label="price", settle_seconds=0, on_bad_file="quarantine", columns=NUMBERS)
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert ingest.poll() == []
    assert (folder / "archive.csv" / "inner.txt").read_text() == "kept"
    assert ingest.rejected[str(folder / "archive.csv")].moved_to is None
    moved = folder / "_rejected" / long_name
    assert ingest.rejected[bad].moved_to == str(moved) and moved.exists() and not os.path.exists(bad)
    [reason_file] = [p for p in (folder / "_rejected").iterdir() if p.name.endswith(".reason.txt")]
    assert len(reason_file.name.encode()) <= 255 and reason_file.name.startswith("x" * 200)
    assert reason_file.read_text() == f"{bad}: line 2, column 'x': expected a number, found 'oops'\n"
    assert "Could not move" not in caplog.text


def test_values_float32_changes_are_said_once_per_file_and_int64_keeps_them(folder, caplog):
    text = b"id,x,price\n16777217,1e-50,1\n16777219,2,1\n5,1e-60,1\n"
    path = write_bytes(folder / "a.csv", text)
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert ingest.poll() == [path]
    notes = [r.getMessage() for r in caplog.records if r.name == "keras_growing_data"]
    assert notes == [
        f"{path}: column 'id': 2 integer value(s) beyond 2^24 are not exact in float32 (16777217 became "
        "16777216); declare the column int64 to keep them",
        f"{path}: column 'x': 2 non-zero value(s) are below float32's range and became 0 (the first: 1e-50)",
    ]
    exact = build_ingest(folder, label="price", settle_seconds=0, columns={**NUMBERS, "id": "int64"})
    assert exact.poll() == [path]
    [batch] = exact.store.dataset(8, shuffle=False)
    assert batch["int64"].numpy()[:, 0].tolist() == [16777217, 16777219, 5]


def test_a_second_process_on_one_state_dir_is_refused_and_named(folder, tmp_path):
    write_csv(folder / "a.csv", 2)
    state = tmp_path / "state"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_STATE, str(folder), str(state)],
        stdout=subprocess.PIPE,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": os.getcwd()},
    )
    try:
        assert holder.stdout.readline() == b"holding\n"
        with pytest.raises(RuntimeError, match=rf"is in use by pid {holder.pid} on .* since .*: two runs"):
            build_ingest(folder, label="price", settle_seconds=0, state_dir=state)
    finally:
        holder.kill()
        holder.wait()
    again = build_ingest(folder, label="price", settle_seconds=0, state_dir=state)  # The lock died with it.
    assert again.num_rows == 2


HOLD_STATE = """
import sys, time
from keras_growing_data.sources.ingest_parts import build_ingest
ingest = build_ingest(sys.argv[1], label="price", settle_seconds=0, state_dir=sys.argv[2])
ingest.poll()
print("holding", flush=True)
time.sleep(600)
"""


def test_a_second_ingest_in_one_process_takes_the_state_over(folder, tmp_path):
    write_csv(folder / "a.csv", 2)
    first = build_ingest(folder, label="price", settle_seconds=0, state_dir=tmp_path / "s")
    first.poll()
    second = build_ingest(folder, label="price", settle_seconds=0, state_dir=tmp_path / "s")
    assert second.num_rows == 2
    write_csv(folder / "b.csv", 3)
    with pytest.raises(RuntimeError, match="took over"):
        first.poll()  # A notebook's old callback, its cell run again: it may no longer write.
    assert second.poll() == [str(folder / "b.csv")]


FULL_DISK = """
import logging, os, resource, signal, sys, time
from helpers import id_rows, write_csv
from keras_growing_data.sources.ingest_parts import build_ingest

logging.basicConfig(level=logging.ERROR, stream=sys.stdout, format="%(levelname)s %(message)s")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # A failed write, as on a full disk, not a killed process.
folder, state, storage = sys.argv[1], sys.argv[2] if sys.argv[2] != "-" else None, sys.argv[3]
write_csv(f"{folder}/a.csv", id_rows(0, 3))
ingest = build_ingest(folder, label="price", settle_seconds=0, state_dir=state, storage=storage)
ingest.poll()
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # Full: no file may grow past 4 KiB.
write_csv(f"{folder}/b.csv", id_rows(3, 400))  # 400 rows of 3 float32s: 4.7 KiB.
write_csv(f"{folder}/c.csv", id_rows(403, 400))
for epoch in range(3):
    print("epoch", epoch, ingest.poll(), ingest.num_rows, sorted(os.path.basename(p) for p in ingest.waiting))
    ingest.record_epoch(epoch)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
deadline = time.monotonic() + 600  # Only bounds a failing run: the next try comes within seconds.
while ingest.num_rows < 803 and time.monotonic() < deadline:
    ingest.poll()
    time.sleep(0.1)
ingest.record_epoch(3)
print("space again", ingest.num_rows, ingest.waiting, ingest.rejected)
if state:
    restarted = build_ingest(folder, label="price", settle_seconds=0, state_dir=state)
    print("restored", restarted.num_rows, [restarted.lineage[e].rows for e in range(4)])
"""


@pytest.mark.parametrize("storage, state", [("memory", True), ("disk", False)])
def test_a_full_disk_makes_new_files_wait_and_training_go_on(folder, tmp_path, storage, state):
    run = run_python(tmp_path, FULL_DISK, folder, tmp_path / "state" if state else "-", storage)
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    lines = run.stdout.decode().splitlines()
    where = str(tmp_path / "state") if state else "kgd-rows-"
    assert [line for line in lines if line.startswith("ERROR")] == [lines[0]]  # Logged once.
    # With storage="disk" the rows go to disk as they are parsed: the write that failed was the first part.
    needed = "4.7 KiB" if storage == "memory" else "at least 4.7 KiB"
    assert lines[0].startswith(
        f"ERROR No space left on the disk: {folder}/b.csv cannot be kept ({needed} needed in"
    )
    assert where in lines[0] and "Training goes on with the 3 rows it has" in lines[0]
    assert lines[1:4] == [f"epoch {e} [] 3 ['b.csv', 'c.csv']" for e in range(3)]
    assert lines[4] == "space again 803 {} {}"
    if state:
        assert lines[5] == "restored 803 [3, 3, 3, 803]"


def test_a_gzip_file_still_being_written_is_rejected_not_moved_then_accepted_once_whole(folder):
    import gzip

    rows = id_rows(0, 5000)
    data = gzip.compress(("id,x,price\n" + "".join(f"{i},{x},{y}\n" for i, x, y in rows)).encode())
    path = write_bytes(folder / "a.csv.gz", data[: len(data) // 2])
    ingest = build_ingest(
        folder, label="price", settle_seconds=0, pattern="*.csv.gz", on_bad_file="quarantine"
    )
    assert ingest.poll() == [] and ingest.num_rows == 0
    assert ingest.rejected[path].reason == (
        "is a truncated gzip archive (it ends before its end-of-stream marker): "
        "still being written, or cut short when copied"
    )
    assert ingest.rejected[path].moved_to is None and os.path.exists(path)  # Its writer may go on.
    with open(path, "ab") as f:  # The writer goes on: the file's size and time change.
        f.write(data[len(data) // 2 :])
    os.utime(path, (OLD + 1, OLD + 1))
    assert ingest.poll() == [path]
    assert ingest.num_rows == 5000 and path not in ingest.rejected
    assert ingest.accepted[path].size == len(data)


def test_a_decompression_bomb_is_rejected_once_not_retried(folder, caplog):
    import bz2

    # 64 MiB of CSV in a few KB of bzip2 (64 streams of 1 MiB, as `cat` joins archives); a poll
    # reads 1 MiB of it.
    mib = bz2.compress(b"1,2,3\n" * ((1 << 20) // 6))
    path = write_bytes(folder / "bomb.csv.bz2", bz2.compress(b"id,x,price\n") + mib * 64)
    write_csv(folder / "a.csv", id_rows(0, 5))
    ingest = build_ingest(folder, label="price", settle_seconds=0, max_file_bytes=1 << 20)
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        for _ in range(3):
            ingest.poll()
    assert list(ingest.accepted) == [str(folder / "a.csv")] and ingest.num_rows == 5
    assert ingest.rejected[path].reason == (
        "holds more than 1048576 bytes once bzip2-decompressed (max_file_bytes=1048576); "
        "raise max_file_bytes to read it"
    )
    assert path not in ingest.waiting
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("Rejected")] == [
        f"Rejected {path}: {ingest.rejected[path].reason}"
    ]


@pytest.mark.parametrize("storage", ["memory", "disk"])
@pytest.mark.parametrize(("window", "kept"), [({"files": 1}, 1), ({"files": 10}, 10), ({"rows": 35}, 7)])
def test_a_backlog_read_with_a_window_holds_at_most_twice_the_window(folder, tmp_path, storage, window, kept):
    # 150 files of 5 rows; the window was applied every 64 files: 65 files held with files=1.
    for i in range(150):
        write_csv(folder / f"f{i:03d}.csv", id_rows(5 * i, 5), mtime=OLD + i)
    window = kgd.Window(**window)
    ingest = build_ingest(
        folder, label="price", settle_seconds=0, storage=storage, storage_dir=tmp_path, window=window
    )
    held = []  # The pieces and rows the store holds after each file read.
    assert len(ingest.poll(progress=lambda _: held.append((ingest.store.num_pieces, ingest.num_rows)))) == 150
    assert len(held) == 150 and max(held) == (2 * kept, 10 * kept)
    assert (ingest.store.num_pieces, ingest.num_rows) == (kept, 5 * kept)
    assert ingest.in_window == [str(folder / f"f{i:03d}.csv") for i in range(150 - kept, 150)]


def test_a_recursive_ingest_reads_a_tree_but_not_its_state_or_quarantine(folder):
    for relative, rows in {"dt=1/a.csv": 2, "dt=2/hour=3/b.csv": 3, "top.csv": 1}.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        write_csv(folder / relative, rows)
    (folder / "dt=2" / "bad.csv").write_text("id,x,price\n1,two,3\n")
    state = folder / "state"
    options = {"settle_seconds": 0, "recursive": True, "on_bad_file": "quarantine", "state_dir": state}
    ingest = build_ingest(folder, label="price", **options)
    (state / "stray.csv").write_text("id,x,price\n1,2,3\n")  # Inside the state folder: never read.
    assert sorted(ingest.watcher.relative(path) for path in ingest.poll()) == [
        "dt=1/a.csv",
        "dt=2/hour=3/b.csv",
        "top.csv",
    ]
    (rejected,) = ingest.rejected.values()
    assert rejected.moved_to == str(folder / "_rejected" / "dt=2" / "bad.csv")
    assert (folder / "_rejected" / "dt=2" / "bad.csv.reason.txt").exists()
    assert ingest.poll() == [] and ingest.num_rows == 6 and len(ingest.rejected) == 1
    restarted = build_ingest(folder, label="price", **options)
    assert restarted.num_rows == 6 and restarted.poll() == []


def test_a_restart_with_tailing_switched_off_honours_it_and_a_later_one_takes_the_tails_up(
    folder, tmp_path, caplog
):
    state = tmp_path / "state"
    path = write_csv(folder / "log.csv", id_rows(0, 10))
    ingest = build_ingest(folder, "price", settle_seconds=0, state_dir=state, appends="tail")
    ingest.poll()
    del ingest
    with open(path, "a") as f:
        f.write("".join(f"{i},1,3\n" for i in range(10, 20)))
    os.utime(path, (OLD + 1, OLD + 1))
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        warned = build_ingest(folder, "price", settle_seconds=0, state_dir=state, appends="warn")
        warned.poll()
        warned.poll()
    assert warned.num_rows == 10 and warned.tails == {}
    assert "1 files tailed by the last run are not tailed now (appends='warn')" in caplog.text
    assert caplog.text.count("changed after it was accepted") == 1
    del warned
    tailing = build_ingest(folder, "price", settle_seconds=0, state_dir=state, appends="tail")
    tailing.poll()
    assert tailing.num_rows == 20 and tailing.accepted[path].rows == 20


@pytest.mark.parametrize("rotation", ["create", "copytruncate"])
def test_the_new_log_after_a_rotation_joins_at_the_same_poll_among_many_accepted_files(folder, rotation):
    # With more accepted files than a poll looks at again, the log's path is not among them.
    for i in range(RECHECKS_PER_POLL):
        write_csv(folder / f"done-{i:03d}.csv", id_rows(1000 + i, 1))
    app, rotated = folder / "app.csv", str(folder / "app-1.csv")
    write_csv(app, id_rows(0, 5), mtime=OLD + 1)  # Accepted last: not looked at again by the next poll.
    ingest = build_ingest(folder, label="price", settle_seconds=0, appends="tail")
    assert len(ingest.poll()) == RECHECKS_PER_POLL + 1
    if rotation == "create":
        os.rename(app, rotated)
    else:
        shutil.copyfile(app, rotated)
        with open(app, "r+") as log:
            log.truncate(0)
    with open(app, "a") as log:
        log.write("id,x,price\n5,5,11\n6,6,13\n")
    assert ingest.poll() == [str(app)]
    assert list(ingest.accepted)[-2:] == list(ingest.tails)[-2:] == [rotated, str(app)]
    assert [ingest.accepted[rotated].rows, ingest.accepted[str(app)].rows] == [5, 2]
    assert ingest.num_rows == RECHECKS_PER_POLL + 7
