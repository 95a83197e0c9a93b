import os

import numpy as np
import pytest
from helpers import id_rows, write_csv

from keras_growing_data.errors import DamagedStateError, UnwritableStateError
from keras_growing_data.sources import manifest as manifest_module
from keras_growing_data.sources import training_files
from keras_growing_data.sources.ingest_parts import build_ingest
from keras_growing_data.sources.manifest import Manifest
from keras_growing_data.sources.window import Window


def ingest_of(folder, state, **kwargs):
    return build_ingest(folder, label="price", settle_seconds=0, state_dir=state, **kwargs)


def stored_ids(ingest):
    rows = np.concatenate([b["float32"].numpy()[:, 0] for b in ingest.store.dataset(64, shuffle=False)])
    return sorted(rows.astype(int).tolist())


@pytest.fixture
def state_of_two_files(folder, tmp_path):
    """A state folder holding a.csv (ids 0-2) in its snapshot and b.csv (ids 3-6) in its journal."""
    state = tmp_path / "state"
    write_csv(folder / "a.csv", id_rows(0, 3))
    ingest_of(folder, state).poll()
    write_csv(folder / "b.csv", id_rows(3, 4))
    ingest = ingest_of(folder, state)
    ingest.poll()
    ingest.record_epoch(0)
    return state


def test_an_epoch_boundary_writes_one_short_record_however_many_files_were_taken(folder, tmp_path):
    ingest = ingest_of(folder, tmp_path / "state")
    written = {}
    for count in range(1, 301):
        write_csv(folder / f"f{count:03d}.csv", id_rows(count, 1))
        ingest.poll()
        before = ingest.manifest.bytes_written
        ingest.record_epoch(count)
        written[count] = ingest.manifest.bytes_written - before
    assert written[1] < 70 and written[300] <= written[1] + 6  # The counts' digits, no more.
    journal = (tmp_path / "state" / "journal-0.log").read_bytes()
    assert journal.count(b"\n") == 2 * 300 - 1  # A record per file and per epoch; f001 is in the snapshot.


def test_the_journal_is_compacted_into_a_snapshot_and_restores_the_same(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(manifest_module, "MIN_RECORDS_BEFORE_COMPACTION", 8)
    state = tmp_path / "state"
    ingest = ingest_of(folder, state)
    for count in range(40):
        write_csv(folder / f"f{count:02d}.csv", id_rows(count, 1))
        ingest.poll()
        ingest.record_epoch(count)
    journals = sorted(p.name for p in state.glob("journal-*.log"))
    assert len(journals) == 1 and journals != ["journal-0.log"]
    restarted = ingest_of(folder, state)
    assert list(restarted.accepted) == list(ingest.accepted) and stored_ids(restarted) == list(range(40))
    assert [restarted.lineage[e] for e in range(40)] == [ingest.lineage[e] for e in range(40)]


def test_a_record_torn_by_a_crash_is_dropped_and_the_file_read_again(folder, state_of_two_files):
    journal = state_of_two_files / "journal-0.log"
    data = journal.read_bytes()
    journal.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 1] + data[-30:-5])  # epoch 0 torn
    restarted = ingest_of(folder, state_of_two_files)
    assert stored_ids(restarted) == list(range(7)) and 0 not in restarted.lineage
    restarted.record_epoch(0)  # Appends after the torn bytes are cut off.
    again = ingest_of(folder, state_of_two_files)
    assert again.lineage[0].rows == 7


@pytest.mark.parametrize(
    "damage, named",
    [
        ("empty snapshot", "state.json is empty, truncated or damaged"),
        ("truncated snapshot", "state.json is empty, truncated or damaged"),
        ("journal line", "journal-0.log, line 1, is damaged"),
        ("truncated rows", "holds the saved rows of {b}, holds 40 of its 50 bytes (truncated)"),
        ("other rows", "holds the saved rows of {b}, does not match its checksum"),
    ],
)
def test_damaged_state_is_named_and_never_trained_on(folder, state_of_two_files, damage, named):
    state = state_of_two_files
    a_rows, b_rows = sorted((state / "rows").iterdir())  # Each run appends to a segment of its own.
    if damage == "empty snapshot":
        (state / "state.json").write_bytes(b"")
    elif damage == "truncated snapshot":
        (state / "state.json").write_bytes((state / "state.json").read_bytes()[:-40])
    elif damage == "journal line":
        data = bytearray((state / "journal-0.log").read_bytes())
        data[20] ^= 1
        (state / "journal-0.log").write_bytes(bytes(data))
    elif damage == "truncated rows":
        os.truncate(b_rows, os.path.getsize(b_rows) - 10)
    else:  # a's rows copied over b's, as long as b's: each piece has its checksum.
        b_rows.write_bytes((a_rows.read_bytes() * 2)[: os.path.getsize(b_rows)])
    with pytest.raises(DamagedStateError, match="cannot be trusted") as raised:
        ingest_of(folder, state)
    assert named.format(b=folder / "b.csv") in str(raised.value)
    assert "Move the state_dir away" in str(raised.value)


def test_files_left_half_written_by_a_crash_are_removed_at_the_next_start(folder, state_of_two_files):
    leftovers = [
        state_of_two_files / "state.json.1234abcd.partial",
        state_of_two_files / "rows" / "x.partial",
    ]
    for path in leftovers:
        path.write_bytes(b"half")
    assert stored_ids(ingest_of(folder, state_of_two_files)) == list(range(7))
    assert not any(path.exists() for path in leftovers)


def test_a_state_of_an_earlier_format_is_refused_with_what_to_do(folder, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "manifest.json").write_text('{"format": 2}')
    with pytest.raises(ValueError, match="earlier version of keras_growing_data .* use a new state_dir"):
        ingest_of(folder, state)
    assert Manifest(str(tmp_path / "none")).load() is None


def test_a_disk_store_is_restored_in_batches_with_every_row_once(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(training_files, "RESTORE_BATCH_BYTES", 100)  # A batch of a file or two.
    state = tmp_path / "state"
    first = ingest_of(folder, state, storage="disk", storage_dir=tmp_path / "rows")
    for i in range(6):
        write_csv(folder / f"f{i}.csv", id_rows(10 * i, 3 + i))
        first.poll()
    restarted = ingest_of(folder, state, storage="disk", storage_dir=tmp_path / "rows")
    assert restarted.num_rows == sum(3 + i for i in range(6)) == 33
    assert stored_ids(restarted) == sorted(10 * i + j for i in range(6) for j in range(3 + i))
    assert list(restarted.accepted) == list(first.accepted)


def test_a_journal_a_compaction_left_behind_is_never_read(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(manifest_module, "MIN_RECORDS_BEFORE_COMPACTION", 4)
    state = tmp_path / "state"
    ingest = ingest_of(folder, state)
    for i in range(3):
        write_csv(folder / f"f{i}.csv", id_rows(i, 1))
        ingest.poll()
        ingest.record_epoch(i)
    [journal] = state.glob("journal-*.log")
    stale = state / "journal-0.log"
    assert journal != stale  # Compacted at least once.
    stale.write_bytes(journal.read_bytes())  # Killed after the new snapshot, before the old journal went.
    restarted = ingest_of(folder, state)
    assert stored_ids(restarted) == [0, 1, 2] and len(restarted.lineage) == 3


def test_a_state_dir_that_cannot_be_written_is_named_with_what_to_do(folder, tmp_path):
    state = tmp_path / "state"
    (state / "lock").mkdir(parents=True)  # As a read-only folder would, opening the lock to write fails.
    with pytest.raises(UnwritableStateError) as error:
        build_ingest(folder, label="price", settle_seconds=0, state_dir=state)
    assert str(error.value) == (
        f"Cannot write the state_dir '{state}' ([Errno 21] Is a directory: '{state}/lock'): it keeps what "
        "was accepted, so it must be a folder this process can write. Make it writable, or give another "
        "state_dir."
    )
    assert isinstance(error.value, OSError)


def test_a_journal_of_few_long_records_is_folded_once_it_outgrows_the_snapshot(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(manifest_module, "MIN_BYTES_BEFORE_COMPACTION", 20_000)
    state = tmp_path / "state"
    ingest = ingest_of(folder, state, window=Window(files=2))
    for number in range(30):  # 2,000 new strings a file: 30 records, never the 4,096 that fold a journal.
        rows = [(f"user-{number}-{i}", i % 7, 1) for i in range(2_000)]
        write_csv(folder / f"f{number:02d}.csv", rows, header=("user", "x", "price"))
        assert len(ingest.poll()) == 1
        journal_bytes = sum(path.stat().st_size for path in state.glob("journal-*.log"))
        assert journal_bytes < max(20_000, (state / "state.json").stat().st_size)
    # A window lets rows go, not strings: ids never change, so every string stays.
    assert len(ingest.vocabulary("user")) == 1 + 30 * 2_000
    assert ingest_of(folder, state, window=Window(files=2)).vocabulary("user") == ingest.vocabulary("user")
