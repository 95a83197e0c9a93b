import logging
import os
import time

import keras
import numpy as np
import pytest
from helpers import OLD, counting_model, id_rows, write_csv

import keras_growing_data as kgd
from keras_growing_data.sources.ingest_parts import build_ingest
from keras_growing_data.sources.manifest import Manifest


def test_a_window_keeps_the_newest_files_that_fit_every_bound():
    rows = [5, 5, 5, 5]
    times = [0, 10, 20, 30]
    assert kgd.Window(files=2).leaving(rows, times) == [0, 1]
    assert kgd.Window(rows=10).leaving(rows, times) == [0, 1]
    assert kgd.Window(rows=11).leaving(rows, times) == [0, 1]
    assert kgd.Window(rows=15).leaving(rows, times) == [0]
    assert kgd.Window(seconds=15e-9).leaving(rows, times) == [0, 1]
    assert kgd.Window(rows=100, files=3, seconds=15e-9).leaving(rows, times) == [0, 1]
    # The newest file stays even when it alone is over the bound.
    assert kgd.Window(rows=3).leaving(rows, times) == [0, 1, 2]
    # By last write: a file written recently stays while older files accepted after it leave.
    assert kgd.Window(seconds=15e-9).leaving(rows, [20, 0, 30, 25]) == [1]
    # One file always stays: the last written, when the count lets the others go.
    assert kgd.Window(files=1, seconds=15e-9).leaving([5, 5], [30, 0]) == [1]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "needs a bound"),
        ({"files": 0}, ValueError, "Window files"),
        ({"rows": 1.5}, TypeError, "Window rows"),
        ({"seconds": -1}, ValueError, "Window seconds"),
    ],
)
def test_a_window_checks_its_bounds(kwargs, error, message):
    with pytest.raises(error, match=message):
        kgd.Window(**kwargs)


class LandEachEpoch(keras.callbacks.Callback):
    """Writes file `f{epoch + 1}.csv` of 10 new ids at the end of each epoch."""

    def __init__(self, folder, rows=10):
        super().__init__()
        self.folder = folder
        self.rows = rows

    def on_epoch_end(self, epoch, logs=None):
        n = epoch + 1
        write_csv(self.folder / f"f{n}.csv", id_rows(n * self.rows, self.rows), mtime=OLD + n)


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_every_row_in_the_window_trains_once_an_epoch_and_older_files_leave(folder, tmp_path, storage):
    write_csv(folder / "f0.csv", id_rows(0, 10), mtime=OLD)
    model, counts = counting_model()
    data = kgd.GrowingDataCallback(
        folder,
        label="price",
        batch_size=4,
        settle_seconds=0,
        window=kgd.Window(files=3),
        storage=storage,
        storage_dir=tmp_path / "rows",
    )
    printed = []
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=7, callbacks=[counts, LandEachEpoch(folder), kgd.GrowthPrinter(data, printed.append)]
    )
    for epoch in range(7):
        first_file = max(0, epoch - 2)
        trained = np.flatnonzero(counts.per_epoch[epoch])
        np.testing.assert_array_equal(trained, np.arange(first_file * 10, (epoch + 1) * 10))
        np.testing.assert_array_equal(counts.per_epoch[epoch][trained], 1)
        lineage = data.lineage[epoch]
        assert lineage.names == tuple(f"f{k}.csv" for k in range(first_file, epoch + 1))
        assert (lineage.rows, lineage.files_left) == ((epoch + 1 - first_file) * 10, first_file)
    assert history.history["files"] == [1, 2, 3, 3, 3, 3, 3]
    assert history.history["files_left"] == [0, 0, 0, 1, 2, 3, 4]
    assert history.history["rows"] == [10, 20, 30, 30, 30, 30, 30]
    assert printed[2:4] == [
        "growth at epoch 3: +1 file, +10 rows -> 30 rows from 3 files",
        "growth at epoch 4: +1 file, 1 file left, +0 rows -> 30 rows from 3 files",
    ]
    assert len(printed) == 7
    assert len(data.accepted) == 7 and data.in_window == [str(folder / f"f{k}.csv") for k in (4, 5, 6)]
    store = data.ingest.store
    assert store.num_pieces == 3
    # What left is freed, not only hidden: at most as many dead rows as live ones.
    assert store._stored_rows <= 2 * store.num_rows


def test_files_that_left_are_not_read_again_and_a_restart_keeps_the_window(folder, tmp_path, caplog):
    state = tmp_path / "state"
    for k in range(6):
        write_csv(folder / f"f{k}.csv", id_rows(10 * k, 10), mtime=OLD + k)
    ingest = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=kgd.Window(rows=25))
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        assert len(ingest.poll()) == 6
    # The window is applied once as many files joined as were in it: f0-f3 leave in two steps.
    left = [r.getMessage().split(" (")[0] for r in caplog.records if "left the window" in r.getMessage()]
    assert left == ["2 files left the window"] * 2
    assert ingest.in_window == [str(folder / "f4.csv"), str(folder / "f5.csv")]
    assert (ingest.num_rows, ingest.files_left) == (20, 4)
    ingest.record_epoch(0)
    assert ingest.poll() == []
    del ingest

    again = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=kgd.Window(rows=25))
    assert (again.num_rows, again.files_left, len(again.accepted)) == (20, 4, 6)
    assert again.lineage[0].names == ("f4.csv", "f5.csv")
    ids = sorted(int(v) for b in again.dataset(8, False, None) for v in b["float32"].numpy()[:, 0])
    assert ids == list(range(40, 60))
    assert again.poll() == []
    write_csv(folder / "f6.csv", id_rows(60, 10), mtime=OLD + 6)
    assert again.poll() == [str(folder / "f6.csv")]
    assert again.in_window == [str(folder / "f5.csv"), str(folder / "f6.csv")]


def test_the_rows_of_files_that_left_are_deleted_from_the_state(folder, tmp_path):
    state = tmp_path / "state"
    ingest = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=kgd.Window(files=2))
    for k in range(300):
        write_csv(folder / f"f{k}.csv", id_rows(k, 1), mtime=OLD + k)
        ingest.poll()
        os.remove(folder / f"f{k - 2}.csv") if k >= 2 else None
    segments = os.listdir(state / "rows")
    # Rows go to segments of at most 64 writes; a segment whose files all left is deleted.
    assert 1 <= len(segments) <= 2, segments
    assert Manifest(state).load()["first"] == 298


def test_a_file_older_than_the_window_when_it_comes_is_rejected_with_its_reason(folder):
    day = 86400
    write_csv(folder / "new.csv", id_rows(0, 5), mtime=OLD + 10 * day)
    ingest = build_ingest(folder, "price", settle_seconds=0, window=kgd.Window(seconds=7 * day))
    assert ingest.poll() == [str(folder / "new.csv")]
    write_csv(folder / "backfill.csv", id_rows(5, 5), mtime=OLD + 2 * day)
    write_csv(folder / "recent.csv", id_rows(10, 5), mtime=OLD + 9 * day)
    assert ingest.poll() == [str(folder / "recent.csv")]
    reason = ingest.rejected[str(folder / "backfill.csv")].reason
    assert reason == (
        f"is older than the window: it was last modified 8 days before {folder / 'new.csv'}, the newest "
        "file in training, more than Window(seconds=604800) allows"
    )
    assert ingest.num_rows == 10


def test_string_ids_survive_a_restart_after_the_files_that_brought_them_left(folder, tmp_path):
    state = tmp_path / "state"
    header = ("id", "city", "price")
    options = {"settle_seconds": 0, "state_dir": state, "window": kgd.Window(files=1)}
    write_csv(folder / "a.csv", [(0, "Oslo", 1), (1, "Lima", 2)], header=header, mtime=OLD)
    write_csv(folder / "b.csv", [(2, "Rome", 3), (3, "Lima", 4)], header=header, mtime=OLD + 1)
    ingest = build_ingest(folder, "price", **options)
    ingest.poll()
    assert ingest.vocabulary("city") == ["[UNK]", "Oslo", "Lima", "Rome"]
    assert ingest.in_window == [str(folder / "b.csv")]
    del ingest

    again = build_ingest(folder, "price", **options)
    assert again.vocabulary("city") == ["[UNK]", "Oslo", "Lima", "Rome"]
    ((ids, _),) = [(b["string"].numpy()[:, 0], b) for b in again.dataset(8, False, None)]
    assert ids.tolist() == [3, 2]  # Rome and Lima keep their ids.
    write_csv(folder / "c.csv", [(4, "Oslo", 5), (5, "Kyiv", 6)], header=header, mtime=OLD + 2)
    again.poll()
    assert again.vocabulary("city") == ["[UNK]", "Oslo", "Lima", "Rome", "Kyiv"]


def test_a_restart_with_a_smaller_window_lets_files_leave_at_once(folder, tmp_path):
    state = tmp_path / "state"
    for k in range(4):
        write_csv(folder / f"f{k}.csv", id_rows(10 * k, 10), mtime=OLD + k)
    ingest = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=kgd.Window(files=3))
    ingest.poll()
    assert ingest.files_left == 1
    del ingest
    smaller = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=kgd.Window(files=2))
    assert (smaller.files_left, smaller.num_rows) == (2, 20)
    assert Manifest(state).load()["first"] == 2


def test_rows_of_files_that_left_are_kept_on_disk_until_the_state_says_so(folder, tmp_path):
    state = tmp_path / "state"
    ingest = build_ingest(folder, "price", settle_seconds=0, state_dir=state)
    for k in range(70):  # More than a segment's 64 writes, with a window.
        write_csv(folder / f"f{k}.csv", id_rows(k, 1), mtime=OLD + k)
    ingest.manifest.rows.rolling = True
    ingest.poll()
    full = sorted(os.listdir(state / "rows"))
    assert len(full) == 2
    ingest.leave_before(69)  # The first segment's files all leave; that is not saved yet.
    assert sorted(os.listdir(state / "rows")) == full
    ingest._save()
    assert sorted(os.listdir(state / "rows")) == full[1:]


def test_skipped_rows_count_only_the_files_in_the_window(folder):
    write_csv(folder / "a.csv", [(0, 1, 3), (1, "bad", 3)], mtime=OLD)
    write_csv(folder / "b.csv", [(2, 1, 3), (3, "bad", 3), (4, "bad", 3)], mtime=OLD + 1)
    columns = {"id": "float32", "x": "float32", "price": "float32"}
    options = {"settle_seconds": 0, "on_bad_row": "skip", "columns": columns}
    ingest = build_ingest(folder, "price", window=kgd.Window(files=1), **options)
    ingest.poll()
    assert (ingest.num_rows, ingest.rows_skipped) == (1, 2)
    assert ingest.record_epoch(0).rows_skipped == 2


def test_a_log_written_to_recently_stays_while_older_files_accepted_after_it_leave(folder, tmp_path):
    hour = 3600 * 10**9
    state = tmp_path / "state"
    options = {"settle_seconds": 0, "appends": "tail", "state_dir": state, "window": kgd.Window(seconds=3600)}
    app = write_csv(folder / "app.csv", id_rows(0, 50), mtime=None)
    start = time.time_ns() - 3 * hour  # Every time here is in the past of the clock.
    os.utime(app, ns=(start, start))
    ingest = build_ingest(folder, "price", **options)
    assert ingest.poll() == [app]
    dump = write_csv(folder / "dump.csv", id_rows(100, 10), mtime=None)
    os.utime(dump, ns=(start - hour // 2, start - hour // 2))  # Within the window when it comes.
    assert ingest.poll() == [str(dump)]
    with open(app, "a") as f:
        f.write("".join(f"{i},{i % 7},{2 * (i % 7) + 1}\n" for i in range(50, 60)))
    os.utime(app, ns=(start + hour, start + hour))  # The dump is now 1.5 hours older than the log.
    ingest.poll()
    assert ingest.in_window == [app] and (ingest.files_left, ingest.num_rows) == (1, 60)
    ids = sorted(int(v) for b in ingest.dataset(8, False, None) for v in b["float32"].numpy()[:, 0])
    assert ids == list(range(60))
    ingest.record_epoch(0)
    assert ingest.lineage[0].files == (app,) and ingest.lineage[0].files_left == 1
    del ingest

    again = build_ingest(folder, "price", **options)
    assert again.in_window == [app] and (again.files_left, again.num_rows) == (1, 60)
    assert again.lineage[0].files == (app,) and list(again.tails) == [app]
    later = write_csv(folder / "later.csv", id_rows(200, 5), mtime=None)
    os.utime(later, ns=(start + hour, start + hour))
    assert again.poll() == [later]
    assert again.in_window == [app, later] and again.num_rows == 65


def test_a_file_dated_in_the_future_neither_empties_the_window_nor_refuses_the_files_after_it(
    folder, tmp_path, caplog
):
    now, day = time.time(), 86400
    for k in range(5):
        write_csv(folder / f"f{k}.csv", id_rows(10 * k, 10), mtime=now - 3600 * (5 - k))
    state, window = tmp_path / "state", kgd.Window(seconds=day)
    ingest = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=window)
    assert len(ingest.poll()) == 5 and ingest.num_rows == 50
    ahead = write_csv(folder / "ahead.csv", id_rows(50, 10), mtime=now + 3 * day)  # A wrong clock.
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert ingest.poll() == [ahead]
    assert (ingest.num_rows, ingest.files_left) == (60, 0)
    assert caplog.messages == [
        f"{ahead} was last modified 3 days ahead of this machine's clock (the clock that wrote it is wrong, "
        "or this one was set back): it trains, but a window measures time from the newest file that is "
        "not dated ahead, until the clock reaches its time"
    ]
    late = write_csv(folder / "late.csv", id_rows(60, 10), mtime=now)
    assert ingest.poll() == [late] and ingest.num_rows == 70
    too_old = write_csv(folder / "too_old.csv", id_rows(70, 10), mtime=now - 2 * day)
    assert ingest.poll() == [] and ingest.num_rows == 70
    assert ingest.rejected[too_old].reason == (
        f"is older than the window: it was last modified 2 days before {late}, the newest file in "
        "training, more than Window(seconds=86400) allows"
    )
    del ingest
    again = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=window)
    assert (again.num_rows, again.files_left, list(again.rejected)) == (70, 0, [too_old])
    assert again.poll() == []


def test_a_file_refused_as_older_than_the_window_is_judged_again_once_the_window_would_take_it(
    folder, tmp_path, caplog
):
    state = tmp_path / "state"
    new = write_csv(folder / "new.csv", id_rows(0, 10), mtime=OLD + 7200)
    ingest = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=kgd.Window(seconds=3600))
    assert ingest.poll() == [new]
    old = write_csv(folder / "old.csv", id_rows(10, 10), mtime=OLD)
    assert ingest.poll() == [] and ingest.rejected[old].refused
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        assert ingest.poll() == []  # Unread, and not refused again at each poll.
    assert caplog.messages == []
    del ingest
    wider = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=kgd.Window(seconds=7200))
    assert wider.poll() == [old]
    assert (wider.num_rows, wider.rejected) == (20, {})


def test_files_an_earlier_version_refused_for_a_future_dated_file_are_judged_again(folder, tmp_path):
    now = time.time()
    state, window = tmp_path / "state", kgd.Window(seconds=86400)
    write_csv(folder / "first.csv", id_rows(0, 10), mtime=now - 7200)
    ingest = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=window)
    ingest.poll()
    refused = write_csv(folder / "refused.csv", id_rows(10, 10), mtime=now - 3600)
    stat = ingest.watcher.current(refused)
    del ingest
    # As an earlier version saved it: a window's refusal, measured from a file dated 3 days ahead.
    manifest = Manifest(str(state))
    manifest.load()
    manifest.open_for_writing()
    reason = (
        "is older than the window: it was last modified 3.04 days before the newest file in training, "
        "more than Window(seconds=86400) allows"
    )
    record = {
        "path": refused,
        "reason": reason,
        "size": stat.size,
        "mtime_ns": stat.mtime_ns,
        "moved_to": None,
        "inode": stat.inode,
        "device": stat.device,
        "ctime_ns": stat.ctime_ns,
    }
    manifest.append([{"type": "reject", "file": record}], snapshot=dict)
    del manifest
    again = build_ingest(folder, "price", settle_seconds=0, state_dir=state, window=window)
    assert again.rejected[refused].refused
    assert again.poll() == [refused] and (again.num_rows, again.rejected) == (20, {})
