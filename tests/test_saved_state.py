import math

import pytest

from keras_growing_data.formats import get_format
from keras_growing_data.sources.disk_space import DiskSpace
from keras_growing_data.sources.manifest import Manifest
from keras_growing_data.sources.saved_state import SavedState, check_fits, read_with

EMPTY = {"directory": "/in", "schema": None, "accepted": [], "rejected": [], "epochs": {}}


def full_disk():
    raise OSError(28, "No space left on device")


def test_changes_are_saved_once_and_kept_while_writing_fails(tmp_path):
    manifest = Manifest(str(tmp_path / "state"))
    manifest.open_for_writing()
    space = DiskSpace()
    saved = SavedState(manifest, space)
    saved.save(snapshot=full_disk)  # Nothing changed: nothing is written.
    assert not manifest.started and space.short_in is None
    saved.changes.append({"type": "epoch", "epoch": 0, "lineage": [0, 0, 0]})
    saved.save(snapshot=full_disk)
    assert len(saved.changes) == 1 and not manifest.started and space.short_in is not None
    saved.save(snapshot=lambda: EMPTY)
    assert saved.changes == [] and manifest.started and space.short_in is None
    saved.changes.append({"type": "epoch", "epoch": 1, "lineage": [1, 5, 0]})
    saved.save(snapshot=full_disk)  # Appended to the journal: no snapshot needed yet.
    assert saved.changes == [] and manifest.load()["epochs"] == {"1": [1, 5, 0]}


def test_a_state_fits_only_the_folder_labels_and_rules_it_was_written_for():
    csv = get_format("csv", label="price", defaults={"x": math.nan}, na_values=["?"])
    rules = read_with(csv, partition_columns=False)
    assert rules == {"columns": None, "defaults": {"x": "NaN"}, "na_values": ["", "?"]}
    assert read_with(csv, partition_columns=True) == {**rules, "partition_columns": True}
    state = {"directory": "/in", "labels": ["price"], "read_with": rules}
    check_fits(state, "state/", "/in", ["price"], rules)
    with pytest.raises(ValueError, match="written for the folder '/in', not '/other'"):
        check_fits(state, "state/", "/other", ["price"], rules)
    with pytest.raises(ValueError, match=r"written for labels \['price'\], not \['y'\]"):
        check_fits(state, "state/", "/in", ["y"], rules)
    with pytest.raises(ValueError, match="its rows were read by other rules"):
        check_fits(state, "state/", "/in", ["price"], {**rules, "na_values": []})
