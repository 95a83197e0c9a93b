import json
import os
import time

import pytest
from helpers import id_rows, snapshot_of, write_csv

from keras_growing_data.distribute.snapshot import SnapshotFolder
from keras_growing_data.errors import SnapshotError, SnapshotTimeoutError


def test_snapshot_folder_publishes_atomically_and_waits(folder, tmp_path):
    write_csv(folder / "a.csv", id_rows(0, 5))
    snapshots = SnapshotFolder(tmp_path / "snapshots", "run-1")
    snapshot = snapshot_of(folder, ["a.csv"], run="run-1")
    snapshots.publish(snapshot)
    assert snapshots.wait(0, timeout=1) == snapshot
    assert os.listdir(tmp_path / "snapshots" / "run-1") == ["epoch-00000000.json"]
    assert json.loads((tmp_path / "snapshots" / "run-1" / "epoch-00000000.json").read_text())["rows"] == 5

    start = time.monotonic()
    with pytest.raises(SnapshotTimeoutError, match="No snapshot of epoch 1 from the chief in 0.3 s"):
        snapshots.wait(1, timeout=0.3)
    # It gave up near its timeout, not at the 30 s the next waits use; wide for a busy machine.
    assert time.monotonic() - start < 10
    snapshots.publish(snapshot_of(folder, ["a.csv"], epoch=3, run="run-1"))
    with pytest.raises(SnapshotError, match="published epoch 3 but not epoch 1"):
        snapshots.wait(1, timeout=30)
    snapshots.publish_end("finished")
    with pytest.raises(SnapshotError, match=r"ended run run-1 \(finished\)"):
        snapshots.wait(4, timeout=30)
    assert not SnapshotFolder(tmp_path / "snapshots", "run-2")._later_epochs(0)
