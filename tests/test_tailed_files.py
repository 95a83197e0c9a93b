import logging

from helpers import id_rows, write_csv

from keras_growing_data.formats import get_format
from keras_growing_data.sources.column_vocabularies import ColumnVocabularies
from keras_growing_data.sources.disk_space import DiskSpace
from keras_growing_data.sources.records import AcceptedFile
from keras_growing_data.sources.tail import TailState
from keras_growing_data.sources.tailed_files import TailedFiles
from keras_growing_data.sources.training_files import TrainingFiles
from keras_growing_data.sources.verdicts import Verdicts
from keras_growing_data.sources.watcher import FolderWatcher
from keras_growing_data.storage.memory_store import MemoryRowStore

CSV = get_format("csv", label="price")


def tailing(folder, rows):
    """The parts around a `TailedFiles` tailing one accepted file of `rows` rows."""
    path = write_csv(folder / "a.csv", rows, mtime=None)
    watcher = FolderWatcher(str(folder), settle_seconds=0)
    stat = watcher.current(path)
    parsed = CSV.read(path)
    record = AcceptedFile(
        path, rows, stat.size, stat.mtime_ns, inode=stat.inode, device=stat.device, ctime_ns=stat.ctime_ns
    )
    changes = []
    files = TrainingFiles(MemoryRowStore(), ColumnVocabularies(), tailing=True)
    files.add(record, parsed, parsed.schema, end=stat.size)
    verdicts = Verdicts(str(folder), "reject", changes)
    verdicts.accept(record)
    tailed = TailedFiles(CSV, watcher, files, verdicts, changes, DiskSpace())
    tailed.states[path] = TailState.of(path, stat.size, parsed.lines)
    return tailed, path, parsed.schema


def append(path, rows):
    with open(path, "a") as f:
        f.write("".join(",".join(str(v) for v in row) + "\n" for row in rows))


def test_complete_appended_lines_join_once_as_a_piece_of_their_own(folder):
    tailed, path, schema = tailing(folder, 3)
    append(path, id_rows(3, 2))
    with open(path, "a") as f:
        f.write("5,1,")  # No newline yet: it waits.
    assert tailed.read_appends(schema, False, lambda stat: {}) == 1
    assert tailed.read_appends(schema, False, lambda stat: {}) == 0  # Nothing new: nothing read twice.
    assert tailed.verdicts.accepted[path].rows == 5 and tailed.files.store.num_rows == 5
    assert [rows for _, _, rows in tailed.files.piece_ends] == [3, 2]
    assert [change["type"] for change in tailed.changes] == ["append"]
    assert tailed.saved(path)["tail"]["offset"] == tailed.states[path].offset


def test_a_file_rewritten_under_its_tail_is_no_longer_tailed_and_keeps_its_rows(folder, caplog):
    tailed, path, schema = tailing(folder, 3)
    write_csv(path, id_rows(10, 5), mtime=None)  # The part already read changed.
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert tailed.read_appends(schema, False, lambda stat: {}) == 0
    assert path not in tailed.states and tailed.saved(path) == {}
    assert tailed.verdicts.accepted[path].rows == 3 and tailed.files.store.num_rows == 3
    assert (
        len(caplog.records) == 1 and "no longer tailed, and its 3 rows stay" in caplog.records[0].getMessage()
    )
    assert tailed.changes[-1]["tail"]["stopped"] is not None


def test_only_the_tails_that_had_not_stopped_are_taken_up_again(folder):
    tailed, path, _ = tailing(folder, 3)
    saved = {"path": path, **tailed.saved(path)}
    stopped = {"path": "b.csv", "tail": {**saved["tail"], "stopped": "shrank"}}
    restored = TailedFiles(CSV, tailed.watcher, tailed.files, tailed.verdicts, [], DiskSpace())
    restored.set_state([saved, stopped, {"path": "c.csv"}])
    assert restored.states == {path: tailed.states[path]}
