import logging
import os
import shutil

import keras
import numpy as np
import pytest
from helpers import counting_model, id_rows, write_csv

import keras_growing_data as kgd
from keras_growing_data.sources.ingest_parts import build_ingest

HEADER = "id,x,price\n"


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def lines(first_id, count):
    return "".join(f"{i},{i % 7},{2 * (i % 7) + 1}\n" for i in range(first_id, first_id + count))


def ids_of(ingest):
    ids = [int(v) for batch in ingest.dataset(64, False, None) for v in batch["float32"].numpy()[:, 0]]
    assert len(ids) == len(set(ids)), "an id trains twice"
    return sorted(ids)


def copy_and_truncate(app, rotated):
    """logrotate's `copytruncate`: copy the log (a new inode), then truncate it in place."""
    shutil.copyfile(app, rotated)
    with open(app, "r+") as log:
        log.truncate(0)


@pytest.mark.parametrize("header_again", [False, True], ids=["writer-goes-on", "producer-reopens"])
def test_a_log_rotated_by_copytruncate_trains_every_line_once(folder, caplog, header_again):
    app, rotated = folder / "app.csv", str(folder / "app-20261201.csv")
    write_csv(app, id_rows(0, 50))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail")
    ingest.poll()
    append(app, lines(50, 50))  # Written after the last read, before the rotation.
    copy_and_truncate(app, rotated)
    # A logger keeps its file descriptor and writes on without a header; a producer that
    # reopens the file writes one first.
    append(app, (HEADER if header_again else "") + lines(100, 100))
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        for _ in range(3):
            ingest.poll()
    assert ids_of(ingest) == list(range(200))
    assert list(ingest.accepted) == [rotated, str(app)] and list(ingest.tails) == [rotated, str(app)]
    assert [ingest.accepted[rotated].rows, ingest.accepted[str(app)].rows] == [100, 100]
    assert ingest.tails[str(app)].lines == (101 if header_again else 100)
    assert caplog.text.count(f"{app} was rotated by copying and truncating it") == 1
    assert f"its 50 rows are accepted under its copy {rotated}" in caplog.text
    assert "shrank" not in caplog.text and "changed after it was accepted" not in caplog.text
    assert not ingest.rejected and not ingest.waiting
    append(app, lines(200, 2))  # The new log is tailed.
    ingest.poll()
    assert ids_of(ingest) == list(range(202))


def test_a_copy_seen_before_the_truncation_waits_then_takes_the_lines_after_the_offset(folder, caplog):
    app, rotated = folder / "app.csv", str(folder / "app-20261201.csv")
    write_csv(app, id_rows(0, 10))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail")
    ingest.poll()
    read = os.path.getsize(app)
    append(app, lines(10, 5))
    shutil.copyfile(app, rotated)  # The copy, seen by polls before the truncation.
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        ingest.poll()
        assert ingest.waiting[rotated].reason == (
            f"is a copy of the tailed {app} (it begins with the {read} bytes read from it): not read, so "
            "that its rows do not train twice, until that file is truncated (logrotate's copytruncate)"
        )
        ingest.poll()
        ingest.poll()
        assert ids_of(ingest) == list(range(15))  # Lines 10-14 from app.csv, not from its copy.
        assert list(ingest.accepted) == [str(app)] and rotated in ingest.waiting
        assert caplog.text.count(f"{rotated} is a copy of the tailed {app}") == 1
        append(app, lines(15, 3))  # Written to the log before the truncation: read from the copy.
        shutil.copyfile(app, rotated)
        with open(app, "r+") as log:
            log.truncate(0)
        ingest.poll()
        append(app, lines(18, 2))
        ingest.poll()
    assert ids_of(ingest) == list(range(20))
    assert list(ingest.accepted) == [rotated, str(app)] and not ingest.waiting
    assert "shrank" not in caplog.text


def test_a_copy_of_a_log_that_is_never_truncated_never_trains(folder):
    app = write_csv(folder / "app.csv", id_rows(0, 10))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail")
    ingest.poll()
    shutil.copyfile(app, folder / "backup.csv")
    append(app, lines(10, 2))
    append(folder / "backup.csv", lines(10, 2))
    ingest.poll()
    assert ids_of(ingest) == list(range(12)) and str(folder / "backup.csv") in ingest.waiting
    assert list(ingest.accepted) == [app] and not ingest.rejected


def test_a_log_truncated_with_no_copy_in_the_folder_is_warned_about_as_shrunk(folder, caplog):
    app = write_csv(folder / "app.csv", id_rows(0, 10))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail")
    ingest.poll()
    read = os.path.getsize(app)
    with open(app, "r+") as log:
        log.truncate(0)
    append(app, lines(10, 2))
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        ingest.poll()
    shrank = f"shrank from {read} to {os.path.getsize(app)} bytes; it is no longer tailed, and its 10 rows"
    assert shrank in caplog.text
    assert ids_of(ingest) == list(range(10))


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_restarts_between_the_copy_and_the_truncation_and_after_it_train_every_line_once(
    folder, tmp_path, storage
):
    app, rotated = folder / "app.csv", str(folder / "app-20261201.csv")
    options = {"settle_seconds": 0, "appends": "tail", "state_dir": tmp_path / "state", "storage": storage}
    options["storage_dir"] = tmp_path / "rows"
    write_csv(app, id_rows(0, 10))
    ingest = build_ingest(folder, "price", **options)
    ingest.poll()
    append(app, lines(10, 5))
    shutil.copyfile(app, rotated)
    ingest.poll()
    assert rotated in ingest.waiting
    del ingest

    again = build_ingest(folder, "price", **options)  # Between the copy and the truncation.
    again.poll()
    assert ids_of(again) == list(range(15)) and rotated in again.waiting
    append(app, lines(15, 3))
    shutil.copyfile(app, rotated)
    with open(app, "r+") as log:
        log.truncate(0)
    append(app, "20,6,1")  # A partial line: nothing at app.csv to read at this poll.
    again.poll()
    assert ids_of(again) == list(range(18)) and list(again.accepted) == [rotated]
    del again

    # After the rotation, before the first read of the truncated log, which goes on without a header.
    third = build_ingest(folder, "price", **options)
    assert ids_of(third) == list(range(18))
    append(app, "3\n" + lines(21, 2))
    third.poll()
    assert ids_of(third) == [*range(18), *range(20, 23)]
    assert list(third.accepted) == [rotated, str(app)] and not third.rejected
    del third

    fourth = build_ingest(folder, "price", **options)
    append(app, lines(23, 1))
    append(rotated, lines(18, 2))  # The copy is tailed too.
    fourth.poll()
    assert ids_of(fourth) == list(range(24))
    assert [fourth.accepted[rotated].rows, fourth.accepted[str(app)].rows] == [20, 4]


def test_every_line_of_a_log_rotated_by_copytruncate_trains_once_an_epoch(folder):
    app, rotated = folder / "app.csv", folder / "app-20261201.csv"
    write_csv(app, id_rows(0, 10))

    class WriteEachEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            append(app, lines(10 + 5 * epoch, 5))
            if epoch == 1:
                copy_and_truncate(app, rotated)

    model, counts = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=4, settle_seconds=0, appends="tail")
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=5, callbacks=[counts, WriteEachEpoch()])
    # Epoch 2 trains lines 0-19 (15-19 written to the log before its copy) and the lines written
    # after the truncation join as they come: 20-24 at epoch 3, 25-29 at epoch 4.
    assert history.history["rows"] == [10, 15, 20, 25, 30]
    assert history.history["files"] == [1, 1, 1, 2, 2]
    for epoch, rows in enumerate([10, 15, 20, 25, 30]):
        np.testing.assert_array_equal(counts.per_epoch[epoch][:rows], 1)
        assert counts.per_epoch[epoch][rows:].sum() == 0
    assert os.path.getsize(rotated) > 0


def test_a_log_that_left_the_window_then_was_rotated_by_copytruncate_is_not_read_again(folder, caplog):
    app, rotated, dump = folder / "app.csv", str(folder / "app-20261201.csv"), str(folder / "dump.csv")
    write_csv(app, id_rows(0, 10))
    ingest = build_ingest(folder, "price", settle_seconds=0, appends="tail", window=kgd.Window(files=1))
    ingest.poll()
    write_csv(dump, id_rows(100, 5))
    ingest.poll()
    assert ids_of(ingest) == list(range(100, 105)) and list(ingest.tails) == [dump]  # The log left.
    copy_and_truncate(app, rotated)
    append(app, lines(200, 10))  # The writer goes on, without a header.
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        for _ in range(3):
            ingest.poll()
    assert ids_of(ingest) == list(range(200, 210))
    assert list(ingest.accepted) == [rotated, dump, str(app)] and list(ingest.tails) == [str(app)]
    assert caplog.text.count(f"{app} was rotated by copying and truncating it") == 1
    assert f"under its copy {rotated}, out of training as the log was" in caplog.text
    assert "shrank" not in caplog.text and "changed after it was accepted" not in caplog.text
