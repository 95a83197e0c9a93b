import pytest
from helpers import id_rows, write_csv

from keras_growing_data.errors import DamagedStateError
from keras_growing_data.formats import get_format
from keras_growing_data.sources.column_vocabularies import ColumnVocabularies
from keras_growing_data.sources.records import AcceptedFile
from keras_growing_data.sources.rows_log import RowsLog
from keras_growing_data.sources.training_files import TrainingFiles
from keras_growing_data.storage.memory_store import MemoryRowStore

CSV = get_format("csv", label="price")


def add_files(files, folder, sizes, first_id=0):
    """Adds one file per size, its ids counting on from `first_id`; returns their records."""
    records = {}
    for i, rows in enumerate(sizes):
        path = write_csv(folder / f"{i}.csv", id_rows(first_id, rows))
        first_id += rows
        parsed = CSV.read(path)
        record = AcceptedFile(path, parsed.num_rows, parsed.size, i, parsed.skipped)
        files.add(record, parsed, parsed.schema, end=parsed.size)
        records[path] = record
    return records


def ids(store):
    return sorted(int(v) for batch in store.dataset(64, False) for v in batch["float32"].numpy()[:, 0])


def test_files_join_in_order_and_leave_oldest_first_with_their_rows(folder):
    files = TrainingFiles(MemoryRowStore(), ColumnVocabularies())
    records = add_files(files, folder, [2, 3, 4])
    paths = list(records)
    assert files.in_training == paths and files.store.num_rows == 9 and files.newest_mtime_ns == 2
    assert files.leave_before(2, records) == paths[:2]
    assert files.first == 2 and files.in_training == paths[2:]
    assert files.store.num_rows == 4 and ids(files.store) == [5, 6, 7, 8]
    assert files.leave_before(1, records) == []  # Files never come back.
    assert files.paths == paths


def test_rows_saved_in_a_rows_log_are_read_back_into_a_new_store(folder, tmp_path):
    log = RowsLog(str(tmp_path / "state"), rolling=True)
    files = TrainingFiles(MemoryRowStore(), ColumnVocabularies(), log, tailing=True)
    records = add_files(files, folder, [2, 3, 4])
    files.leave_before(1, records)
    saved = [{"path": path, **files.saved(path)} for path in records]
    assert saved[0]["rows_ref"] is None and all(item["rows_ref"]["end"] > 0 for item in saved[1:])
    assert [rows for _, _, rows in files.piece_ends] == [3, 4]
    restored = TrainingFiles(MemoryRowStore(), ColumnVocabularies(), RowsLog(str(tmp_path / "state")), True)
    schema = CSV.read(list(records)[0]).schema
    restored.set_state(saved, 1, records, schema, where="state")
    assert restored.in_training == list(records)[1:] and restored.store.num_rows == 7
    assert ids(restored.store) == list(range(2, 9))
    assert restored.piece_ends == files.piece_ends


def test_a_saved_file_whose_rows_disagree_with_its_record_is_damaged(folder, tmp_path):
    log = RowsLog(str(tmp_path / "state"))
    files = TrainingFiles(MemoryRowStore(), ColumnVocabularies(), log)
    records = add_files(files, folder, [2, 3])
    saved = [{"path": path, **files.saved(path)} for path in records]
    schema = CSV.read(list(records)[0]).schema
    path = list(records)[1]
    lying = {**records, path: AcceptedFile(path, 4, 1, 1)}
    with pytest.raises(DamagedStateError, match="hold 3 rows, its record 4"):
        TrainingFiles(MemoryRowStore(), ColumnVocabularies(), RowsLog(str(tmp_path / "state"))).set_state(
            saved, 0, lying, schema, where="state"
        )
    saved[0]["rows_ref"] = None
    with pytest.raises(DamagedStateError, match="records no saved rows"):
        TrainingFiles(MemoryRowStore(), ColumnVocabularies(), RowsLog(str(tmp_path / "state"))).set_state(
            saved, 0, records, schema, where="state"
        )


def test_a_failed_write_keeps_nothing_and_says_where(folder, tmp_path):
    log = RowsLog(str(tmp_path / "state"))
    files = TrainingFiles(MemoryRowStore(), ColumnVocabularies(), log)
    path = write_csv(folder / "a.csv", 3)
    parsed = CSV.read(path)
    parsed.arrays["float32"] = parsed.arrays["float32"][:, :1]  # Not the store's layout: its append raises.
    add_files(files, folder, [1])
    with pytest.raises(ValueError):
        files.add(AcceptedFile(path, 3, parsed.size, 0), parsed, parsed.schema, end=parsed.size)
    assert files.writing_to == "memory" and files.store.num_rows == 1 and len(files.paths) == 1
    assert files.saved(files.paths[0])["rows_ref"]["arrays"][0][2] == 1
