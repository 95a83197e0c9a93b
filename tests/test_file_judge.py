import logging
import os
import time
import tracemalloc

import numpy as np
from helpers import OLD, id_rows, run_python, write_csv

import keras_growing_data as kgd
from keras_growing_data.formats import get_format
from keras_growing_data.formats.csv.csv_format import CsvFormat
from keras_growing_data.sources.column_vocabularies import ColumnVocabularies
from keras_growing_data.sources.disk_space import DiskSpace
from keras_growing_data.sources.file_judge import FileJudge
from keras_growing_data.sources.ingest_parts import build_ingest
from keras_growing_data.sources.keep_everything import KeepEverything
from keras_growing_data.sources.tailed_files import TailedFiles
from keras_growing_data.sources.training_files import TrainingFiles
from keras_growing_data.sources.verdicts import Verdicts
from keras_growing_data.sources.watcher import FolderWatcher
from keras_growing_data.storage.disk_store import DiskRowStore
from keras_growing_data.storage.memory_store import MemoryRowStore


def judge_of(folder, policy=None, store=None, csv=None, **options):
    csv = csv or get_format("csv", label="price")
    watcher = FolderWatcher(str(folder), settle_seconds=0)
    changes = []
    verdicts = Verdicts(str(folder), "reject", changes)
    files = TrainingFiles(store or MemoryRowStore(), ColumnVocabularies())
    tailed = TailedFiles(csv, watcher, files, verdicts, changes, DiskSpace())
    policy = policy or KeepEverything()
    return FileJudge(csv, watcher, policy, verdicts, files, tailed, changes, DiskSpace(), **options)


def test_the_first_good_file_sets_the_schema_and_joins_whole(folder):
    judge = judge_of(folder)
    path = write_csv(folder / "a.csv", 4)
    assert judge.schema is None
    assert judge.judge(judge.watcher.current(path))
    assert judge.schema.names == ("id", "x", "price")
    assert judge.verdicts.accepted[path].rows == 4 and judge.files.store.num_rows == 4
    assert [change["type"] for change in judge.changes] == ["schema", "accept"]


def test_a_bad_file_is_rejected_whole_with_its_reason(folder):
    judge = judge_of(folder)
    judge.judge(judge.watcher.current(write_csv(folder / "a.csv", 2)))
    bad = folder / "b.csv"
    bad.write_text("id,x,price\n1,2,3\n4,five,6\n")
    assert not judge.judge(judge.watcher.current(str(bad)))
    assert judge.verdicts.rejected[str(bad)].reason == ("line 3, column 'x': expected a number, found 'five'")
    assert judge.files.store.num_rows == 2


def test_a_file_the_policy_refuses_is_rejected_unread_unless_followed(folder):
    judge = judge_of(folder, policy=kgd.Window(seconds=60))
    new = write_csv(folder / "new.csv", 2, mtime=OLD + 3600)
    judge.judge(judge.watcher.current(new))
    old = judge.watcher.current(write_csv(folder / "old.csv", 2))
    assert not judge.judge(old)
    assert judge.verdicts.rejected[old.path].reason == (
        f"is older than the window: it was last modified 0.0417 days before {new}, the newest file in "
        "training, more than Window(seconds=60) allows"
    )
    assert judge.verdicts.rejected[old.path].refused
    assert judge.judge(old, follow=True)  # A follower takes what its chief took.


def test_a_file_gone_while_read_is_rejected_as_vanished(folder, caplog):
    judge = judge_of(folder)
    stat = judge.watcher.current(write_csv(folder / "a.csv", 2))
    os.remove(stat.path)
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert not judge.judge(stat)
    assert judge.verdicts.rejected[stat.path].reason == "vanished while being read"
    assert judge.verdicts.waiting == {} and judge.changes[-1]["type"] == "reject"


def test_a_failing_write_to_state_dir_makes_the_file_wait_and_join_once_it_works(folder, tmp_path, caplog):
    state, away = tmp_path / "state", tmp_path / "rows.away"
    ingest = build_ingest(folder, label="price", settle_seconds=0, state_dir=state)
    a = write_csv(folder / "a.csv", id_rows(0, 3))
    assert ingest.poll() == [a]
    rows = state / "rows"
    os.rename(rows, away)
    rows.write_text("a file where the rows folder was")  # Every write of rows fails: ENOTDIR, not ENOSPC.
    b = write_csv(folder / "b.csv", id_rows(3, 4))
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        for _ in range(3):
            assert ingest.poll() == []
        error = f"[Errno 20] Not a directory: '{rows}/000000.bin'"
        assert ingest.rejected == {} and list(ingest.waiting) == [b]
        assert ingest.waiting[b].reason == f"cannot write its rows to {rows} now ({error})"
        os.remove(rows)
        os.rename(away, rows)
        deadline = time.monotonic() + 600  # Only bounds a failing run: the next try comes within seconds.
        while ingest.num_rows < 7 and time.monotonic() < deadline:
            ingest.poll()
            time.sleep(0.1)
    assert (ingest.num_rows, list(ingest.accepted), ingest.waiting, ingest.rejected) == (7, [a, b], {}, {})
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        f"Cannot write to {rows} ({error}): {b} cannot be kept. Training goes on with the 3 rows it has; "
        "new files wait and join once writing works again (logged once)."
    ]
    assert "Writing works again: new files join training and the state is saved." in caplog.messages
    del ingest
    restarted = build_ingest(folder, label="price", settle_seconds=0, state_dir=state)
    assert (restarted.num_rows, sorted(restarted.accepted), restarted.rejected) == (7, [a, b], {})


MIXED = {"id": "float32", "x": "float32", "city": "string", "price": "float32"}


def small_chunks():
    return CsvFormat(label="price", chunk_bytes=1 << 14, columns=MIXED)


def write_mixed(path, rows, last=""):
    lines = "".join(f"{i},{i % 97}.5,c{i % 5},{i % 7}\n" for i in range(rows))
    with open(path, "w") as f:
        f.write("id,x,city,price\n" + lines + last)
    os.utime(path, (OLD, OLD))
    return str(path)


def test_a_disk_store_takes_a_file_holding_a_part_of_its_rows_in_memory_whatever_its_size(folder, tmp_path):
    # Python's allocations (every NumPy array) while a file is judged: the disk store's must not
    # grow with the file. It stacked every row in memory before writing them (16 MiB more for
    # the larger file); the memory store's hold them.
    peaks = {}
    for storage, rows in [("memory", 250_000), ("disk", 250_000), ("disk", 1_000_000)]:
        path = write_mixed(folder / f"{storage}-{rows}.csv", rows)
        store = MemoryRowStore() if storage == "memory" else DiskRowStore(tmp_path / f"rows-{rows}")
        judge = judge_of(folder, store=store, csv=small_chunks())
        tracemalloc.start()
        try:
            assert judge.judge(judge.watcher.current(path))
            peaks[storage, rows] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert store.num_rows == rows
        if storage == "disk":
            assert sorted(os.listdir(store.folder)) == ["lock", "rows-float32.bin", "rows-string.bin"]
            batch = next(iter(store.dataset(batch_size=rows, shuffle=False)))
            last = rows - 1
            np.testing.assert_array_equal(batch["float32"][-1], [last, last % 97 + 0.5, last % 7])
            np.testing.assert_array_equal(batch["string"][:6, 0], [1, 2, 3, 4, 5, 1])
    row_bytes = 4 * 4  # Three float32 columns and a string id.
    assert peaks["memory", 250_000] >= 250_000 * row_bytes, peaks
    assert peaks["disk", 1_000_000] - peaks["disk", 250_000] < 750_000 * row_bytes / 4, peaks


def test_a_file_rejected_part_way_leaves_no_scratch_file_in_a_disk_store(folder, tmp_path):
    store = DiskRowStore(tmp_path)
    judge = judge_of(folder, store=store, csv=small_chunks())
    path = write_mixed(folder / "bad.csv", 50_000, last="1,five,c,3\n")
    assert not judge.judge(judge.watcher.current(path))
    assert judge.verdicts.rejected[path].reason == "line 50002, column 'x': expected a number, found 'five'"
    assert os.listdir(store.folder) == ["lock"]


SCRATCH_DISK_FULL = """
import os, resource, signal
from test_file_judge import judge_of, small_chunks, write_mixed
from keras_growing_data.storage.disk_store import DiskRowStore

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # A failed write, not a killed process.
folder, rows_dir = sys.argv[1:3]
store = DiskRowStore(rows_dir)
judge = judge_of(folder, store=store, csv=small_chunks())
path = write_mixed(os.path.join(folder, "a.csv"), 50_000)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, hard))  # The disk fills up mid-read.
judged = judge.judge(judge.watcher.current(path))
print(judged, judge.verdicts.waiting[path].reason, store.folder, os.listdir(store.folder), sep="|")
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
print(judge.judge(judge.watcher.current(path)), store.num_rows, sep="|")
"""


def test_a_disk_full_while_rows_go_to_disk_makes_the_file_wait_and_leaves_no_scratch_file(folder, tmp_path):
    run = run_python(tmp_path, SCRATCH_DISK_FULL, folder, tmp_path / "rows")
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    full, again = run.stdout.decode().split("\n")[-3:-1]
    judged, reason, rows_folder, left = full.split("|")
    assert judged == "False"
    assert reason.startswith("no space left to keep its rows (at least ")
    assert reason.endswith(f") in {rows_folder}")
    assert left == "['lock']"
    assert again == "True|50000"
