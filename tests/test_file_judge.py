import logging
import os
import time

from helpers import OLD, id_rows, write_csv

import keras_growing_data as kgd
from keras_growing_data.formats import get_format
from keras_growing_data.sources.column_vocabularies import ColumnVocabularies
from keras_growing_data.sources.disk_space import DiskSpace
from keras_growing_data.sources.file_judge import FileJudge
from keras_growing_data.sources.ingest_parts import build_ingest
from keras_growing_data.sources.keep_everything import KeepEverything
from keras_growing_data.sources.tailed_files import TailedFiles
from keras_growing_data.sources.training_files import TrainingFiles
from keras_growing_data.sources.verdicts import Verdicts
from keras_growing_data.sources.watcher import FolderWatcher
from keras_growing_data.storage.memory_store import MemoryRowStore


def judge_of(folder, policy=None, **options):
    csv = get_format("csv", label="price")
    watcher = FolderWatcher(str(folder), settle_seconds=0)
    changes = []
    verdicts = Verdicts(str(folder), "reject", changes)
    files = TrainingFiles(MemoryRowStore(), ColumnVocabularies())
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
