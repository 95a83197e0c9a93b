import logging
import os

import keras
import numpy as np
import pytest
from helpers import OLD, counting_model, id_rows, write_csv

import keras_growing_data as kgd
from keras_growing_data.sources.ingest_parts import build_ingest
from keras_growing_data.sources.tail import TailState, complete_end


def append(path, text, mtime=None):
    with open(path, "a") as f:
        f.write(text)
    if mtime is not None:
        os.utime(path, ns=(mtime, mtime))


def lines(first_id, count):
    return "".join(f"{i},{i % 7},{2 * (i % 7) + 1}\n" for i in range(first_id, first_id + count))


def ids_of(ingest):
    return sorted(int(v) for batch in ingest.dataset(64, False, None) for v in batch["float32"].numpy()[:, 0])


def test_complete_end_is_after_the_last_newline(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"h\n1\n22\n33")
    assert complete_end(str(path), 0, 9) == 7
    assert complete_end(str(path), 7, 9) == 7
    assert complete_end(str(path), 0, 2) == 2
    assert complete_end(str(path), 0, 1) == 0
    path.write_bytes(b"h\r1\r\n22\r33")  # CR alone ends a line too.
    assert complete_end(str(path), 0, 10) == 8
    assert complete_end(str(path), 0, 7) == 5


def test_a_tail_state_tells_a_rewritten_part_from_an_append(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"id,x\n1,2\n")
    state = TailState.of(str(path), offset=9, lines=2)
    append(path, "3,4\n")
    assert state.unchanged(str(path))
    path.write_bytes(b"id,x\n1,3\n3,4\n")
    assert not state.unchanged(str(path))


def test_appended_lines_join_once_each_read_from_the_offset(folder, caplog):
    path = write_csv(folder / "day.csv", id_rows(0, 5))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail")
    assert ingest.poll() == [path]
    assert ingest.tails[path].offset == os.path.getsize(path)
    append(path, lines(5, 3) + "8,1", mtime=OLD + 1)  # A partial last line waits.
    assert ingest.poll() == []
    assert (ingest.num_rows, ingest.accepted[path].rows) == (8, 8)
    offset = ingest.tails[path].offset
    assert offset == os.path.getsize(path) - 3
    assert ingest.poll() == [] and ingest.num_rows == 8  # Unchanged: nothing read again.
    append(path, ",3\n" + lines(9, 2), mtime=OLD + 2)
    ingest.poll()
    assert ids_of(ingest) == list(range(11))
    assert ingest.tails[path].lines == 12
    # Line numbers go on from the first read: line 13 is the bad one.
    append(path, "11,1,3\n12,oops,1\n", mtime=OLD + 3)
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        ingest.poll()
    assert "has appended lines that are bad" in caplog.text and "line 14" in caplog.text
    assert "is no longer tailed, and its 11 rows stay as they were" in caplog.text
    assert path not in ingest.tails and ingest.num_rows == 11


def test_bad_appended_lines_are_skipped_with_their_line_numbers(folder):
    path = write_csv(folder / "day.csv", id_rows(0, 2))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail", on_bad_row="skip")
    ingest.poll()
    append(path, "2,1,3\n3,x,1\n4,1,3\n", mtime=OLD + 1)
    ingest.poll()
    assert ids_of(ingest) == [0, 1, 2, 4]
    assert [row.line for row in ingest.accepted[path].skipped] == [5]
    assert ingest.rows_skipped == 1 and path in ingest.tails


def test_a_tailed_file_with_cr_line_ends_counts_each_line_once_a_crlf_split_between_polls_too(folder):
    path = folder / "mac.csv"
    path.write_bytes(b"id,x,price\r0,0,1\r1,1,3\r")
    os.utime(path, (OLD, OLD))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail", on_bad_row="skip")
    assert ingest.poll() == [str(path)] and ingest.num_rows == 2
    append(path, "2,2,5\r", mtime=OLD + 1)  # A CR whose LF is still to come ...
    ingest.poll()
    append(path, "\n3,x,7\r\n4,4,9\r\n", mtime=OLD + 2)  # ... which does not make a blank line.
    ingest.poll()
    assert ids_of(ingest) == [0, 1, 2, 4]
    assert [row.line for row in ingest.accepted[str(path)].skipped] == [5]
    assert ingest.tails[str(path)].offset == os.path.getsize(path)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.write_text("id,x,price\n0,0,1\n"), "shrank from"),
        (lambda p: p.write_text("id,x,price\n9,9,9\n1,1,3\n2,2,5\n"), "changed in the part already read"),
        (
            lambda p: os.replace(write_csv(p.with_suffix(".new"), id_rows(0, 3)), p),
            "was replaced by another file",
        ),
    ],
)
def test_a_file_that_shrinks_or_changes_is_warned_about_and_keeps_its_rows(folder, caplog, change, reason):
    path = write_csv(folder / "day.csv", id_rows(0, 2))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail")
    ingest.poll()
    change(folder / "day.csv")
    os.utime(path, ns=(OLD + 5, OLD + 5))
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        ingest.poll()
        ingest.poll()
    assert caplog.text.count(reason) == 1
    assert ids_of(ingest) == [0, 1] and path not in ingest.tails


def test_without_tail_an_append_is_warned_about_and_not_read(folder, caplog):
    path = write_csv(folder / "day.csv", id_rows(0, 2))
    ingest = build_ingest(folder, "price", settle_seconds=0)
    ingest.poll()
    append(path, lines(2, 2), mtime=OLD + 1)
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        ingest.poll()
    assert "changed after it was accepted" in caplog.text and ingest.num_rows == 2


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_offsets_survive_a_restart_and_rows_keep_their_order(folder, tmp_path, storage):
    state = tmp_path / "state"
    a = write_csv(folder / "a.csv", id_rows(0, 2))
    b = write_csv(folder / "b.csv", id_rows(100, 2))
    options = {"settle_seconds": 0, "appends": "tail", "state_dir": state, "seed": 1, "storage": storage}
    options["storage_dir"] = tmp_path / "rows"
    ingest = build_ingest(folder, "price", **options)
    ingest.poll()
    append(a, lines(2, 2), mtime=OLD + 1)
    append(b, lines(102, 1), mtime=OLD + 1)
    ingest.poll()
    append(a, lines(4, 1) + "5,", mtime=OLD + 2)
    ingest.poll()
    order = [int(v) for batch in ingest.dataset(64, False, None) for v in batch["float32"].numpy()[:, 0]]
    assert order == [0, 1, 100, 101, 2, 3, 102, 4]
    del ingest

    again = build_ingest(folder, "price", **options)
    assert [
        int(v) for batch in again.dataset(64, False, None) for v in batch["float32"].numpy()[:, 0]
    ] == order
    assert again.poll() == [] and again.num_rows == 8
    append(a, "1,3\n", mtime=OLD + 3)
    again.poll()
    assert ids_of(again) == sorted([*order, 5])
    assert again.accepted[a].rows == 6


def test_a_tailed_file_trains_each_new_line_at_the_next_epoch(folder):
    path = write_csv(folder / "log.csv", id_rows(0, 10))

    class AppendEachEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            append(path, lines(10 + 5 * epoch, 5), mtime=OLD + epoch + 1)

    model, counts = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=4, settle_seconds=0, appends="tail")
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=4, callbacks=[counts, AppendEachEpoch()])
    assert history.history["rows"] == [10, 15, 20, 25]
    assert history.history["files"] == [1, 1, 1, 1]
    for epoch, rows in enumerate([10, 15, 20, 25]):
        np.testing.assert_array_equal(counts.per_epoch[epoch][:rows], 1)
        assert counts.per_epoch[epoch][rows:].sum() == 0


def test_a_tailed_file_leaves_a_window_with_its_appended_rows(folder):
    a = write_csv(folder / "a.csv", id_rows(0, 2), mtime=OLD)
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail", window=kgd.Window(files=1))
    ingest.poll()
    append(a, lines(2, 2), mtime=OLD + 1)
    ingest.poll()
    write_csv(folder / "b.csv", id_rows(10, 3), mtime=OLD + 2)
    ingest.poll()
    assert ids_of(ingest) == [10, 11, 12]
    assert ingest.store.num_pieces == 1 and a not in ingest.tails


def test_a_compressed_file_is_read_once_whole_and_not_tailed(folder):
    import gzip

    # An archive whose bytes hold no newline: its end is no line's end.
    rows = next(
        n
        for n in range(1, 50)
        if b"\n" not in gzip.compress(("id,x,price\n" + lines(0, n)).encode(), mtime=0)
    )
    path = folder / "a.csv.gz"
    path.write_bytes(gzip.compress(("id,x,price\n" + lines(0, rows)).encode(), mtime=0))
    os.utime(path, (OLD, OLD))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail")
    assert ingest.poll() == [str(path)]
    assert ingest.num_rows == rows and ingest.tails == {}


def test_a_file_appended_to_while_it_is_first_read_is_taken_up_to_its_listed_size(folder):
    path = write_csv(folder / "log.csv", id_rows(0, 3))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail")
    listed = ingest.watcher.current(path)
    append(path, lines(3, 2), mtime=OLD + 1)  # While the first read goes on.
    assert ingest.ingest_files([listed]) == [path]
    assert ingest.num_rows == 3 and ingest.tails[path].offset == listed.size
    ingest.poll()
    assert ids_of(ingest) == list(range(5))


@pytest.mark.parametrize("start", [b"id,x,price\n", b"id,x,price\n0,0,", b"id,x"])
def test_a_tailed_file_without_a_complete_row_waits_and_is_never_moved(folder, start):
    path = folder / "log.csv"
    path.write_bytes(start)
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail", on_bad_file="quarantine")
    assert ingest.poll() == [] and path.exists()
    assert not ingest.rejected and str(path) in ingest.waiting
    path.write_bytes(b"id,x,price\n0,0,1\n1,")
    assert ingest.poll() == [str(path)] and ingest.num_rows == 1


def test_a_file_whose_complete_part_is_shorter_than_a_magic_number_is_read(folder):
    path = folder / "tiny.csv"
    path.write_bytes(b"x,y\n1,2\n3,")
    os.utime(path, (OLD, OLD))
    ingest = build_ingest(folder, "y", settle_seconds=0, appends="tail")
    assert ingest.poll() == [str(path)] and ingest.num_rows == 1


def test_a_log_rotated_by_renaming_trains_every_line_once(folder, caplog):
    app, rotated = folder / "app.csv", str(folder / "app-20261201.csv")
    write_csv(app, id_rows(0, 50))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail")
    ingest.poll()
    append(app, lines(50, 50), mtime=OLD + 1)  # Written after the last read, before the rotation.
    os.rename(app, rotated)  # logrotate's `create`: rename, then a new file at the old path.
    write_csv(app, id_rows(100, 100), mtime=OLD + 2)
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        for _ in range(3):
            ingest.poll()
    assert ids_of(ingest) == list(range(200))
    assert list(ingest.accepted) == [rotated, str(app)] and list(ingest.tails) == [rotated, str(app)]
    assert caplog.text.count(f"{app} was moved to {rotated}") == 1 and "and tailed there" in caplog.text
    assert "changed after it was accepted" not in caplog.text and "no longer tailed" not in caplog.text


def test_a_file_whose_tail_stopped_is_warned_about_once_while_it_keeps_changing(folder, caplog):
    path = write_csv(folder / "app.csv", id_rows(0, 5))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail")
    ingest.poll()
    os.replace(write_csv(folder / "new.tmp", id_rows(100, 2)), path)
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        for k in range(3):
            append(path, lines(200 + k, 1), mtime=OLD + k + 1)
            ingest.poll()
    assert [r.getMessage().split(path)[1] for r in caplog.records] == [
        " was replaced by another file; it is no longer tailed, and its 5 rows stay as they were"
    ]
    assert ids_of(ingest) == list(range(5))


def test_a_log_that_left_the_window_then_was_rotated_by_renaming_is_not_read_again(folder, tmp_path, caplog):
    options = {
        "settle_seconds": 0,
        "appends": "tail",
        "window": kgd.Window(files=1),
        "state_dir": str(tmp_path / "state"),
    }
    app, rotated, dump = folder / "app.csv", str(folder / "app-20261201.csv"), str(folder / "dump.csv")
    write_csv(app, id_rows(0, 10), mtime=OLD)
    ingest = build_ingest(folder, "price", **options)
    ingest.poll()
    write_csv(dump, id_rows(100, 5), mtime=OLD + 1)
    ingest.poll()
    assert ids_of(ingest) == list(range(100, 105)) and list(ingest.tails) == [dump]  # The log left.
    append(app, lines(10, 5), mtime=OLD + 2)  # Written after the log left: its lines stay out.
    os.rename(app, rotated)  # logrotate's `create`: rename, then a new file at the old path.
    write_csv(app, id_rows(200, 10), mtime=OLD + 3)
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        for _ in range(3):
            ingest.poll()
    assert ids_of(ingest) == list(range(200, 210))
    assert list(ingest.accepted) == [rotated, dump, str(app)] and list(ingest.tails) == [str(app)]
    assert caplog.text.count(f"{app} was moved to {rotated}") == 1 and "and tailed there" not in caplog.text
    # The lines written to the log after it left are not read, and said so, once.
    assert caplog.text.count(f"{rotated} changed after it was accepted") == 1
    assert f"{app} changed" not in caplog.text and f"{app} was replaced" not in caplog.text
    del ingest
    restarted = build_ingest(folder, "price", **options)
    os.rename(rotated, folder / "app-old.csv")  # Moved again, after a restart: still the same file.
    restarted.poll()
    assert ids_of(restarted) == list(range(200, 210))
    assert list(restarted.accepted) == [str(folder / "app-old.csv"), dump, str(app)]
