"""The epoch snapshots a chief worker publishes and the other workers follow.

At each boundary the chief writes the epoch's snapshot (the accepted files
in acceptance order, with sizes, modification times and row counts, the seed
and the batch size) as one JSON file, atomically, into a folder all workers
share; the other workers wait for it. See the `distribute` package for the protocol.
"""

import dataclasses
import json
import posixpath
import time

import tensorflow as tf

from keras_growing_data.errors import SnapshotError, SnapshotTimeoutError
from keras_growing_data.utils.durable_write import write_atomically

SNAPSHOT_FORMAT = 2
# A leading "_" keeps the folder out of the watcher's listing (watcher.is_temporary).
SNAPSHOT_FOLDER = "_workers"


@dataclasses.dataclass(frozen=True)
class SnapshotFile:
    """One accepted file of a snapshot: its path in the folder and its version (when last read)."""

    name: str
    rows: int
    size: int
    mtime_ns: int


@dataclasses.dataclass(frozen=True)
class EpochSnapshot:
    """What one epoch trains on, as the chief decided it.

    `files` are every file accepted so far, in acceptance order (the order of
    the rows in every worker's store), named relative to the data folder so
    that workers may mount it at different paths. `schema` is the chief's
    (name, dtype) pairs and `vocabularies` a digest of its string columns'
    vocabularies: a follower that took the same files must hold the same.
    `files_left` of them left the chief's `Window` before the epoch. With
    `appends="tail"`, `pieces` lists the store's pieces in order, each
    `(file index, end offset, rows)`: a file's first read up to that byte,
    or what was appended to it up to there.
    """

    run: str
    epoch: int
    seed: int
    batch_size: int
    shuffle: bool
    num_workers: int
    labels: tuple[str, ...]
    schema: tuple[tuple[str, str], ...]
    vocabularies: str
    on_bad_row: str
    files: tuple[SnapshotFile, ...]
    files_left: int = 0
    pieces: tuple[tuple[int, int, int], ...] = ()

    @property
    def rows(self) -> int:
        """The rows the epoch trains on: those of the files still in the window."""
        return sum(f.rows for f in self.files[self.files_left :])

    def to_json(self) -> str:
        state = dataclasses.asdict(self)
        return json.dumps({"format": SNAPSHOT_FORMAT, **state, "rows": self.rows}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "EpochSnapshot":
        state = json.loads(text)
        if state.pop("format", None) != SNAPSHOT_FORMAT:
            raise SnapshotError(f"snapshot format is not {SNAPSHOT_FORMAT}: {text[:200]!r}")
        state.pop("rows", None)
        state["labels"] = tuple(state["labels"])
        state["schema"] = tuple((name, dtype) for name, dtype in state["schema"])
        state["files"] = tuple(SnapshotFile(**f) for f in state["files"])
        state["pieces"] = tuple(tuple(piece) for piece in state.get("pieces", ()))
        return cls(**state)


class SnapshotFolder:
    """The snapshots of one training run: `<folder>/<run>/epoch-NNNNNNNN.json`.

    The chief publishes each snapshot under a temporary name and renames it,
    so a follower never reads half a file; `end.json` says the chief's run is
    over (finished or failed), so a follower waiting for another epoch fails
    at once instead of at its timeout. Each run has its own subfolder, so a
    snapshot left by an earlier run is never taken for this one.
    """

    def __init__(self, folder: str, run: str):
        self.path = posixpath.join(str(folder), run)
        self.run = run
        self.published = []

    def _epoch_path(self, epoch: int) -> str:
        return posixpath.join(self.path, f"epoch-{epoch:08d}.json")

    @property
    def end_path(self) -> str:
        return posixpath.join(self.path, "end.json")

    def publish(self, snapshot: EpochSnapshot) -> None:
        tf.io.gfile.makedirs(self.path)
        write_atomically(self._epoch_path(snapshot.epoch), snapshot.to_json().encode())
        self.published.append(snapshot.epoch)

    def publish_end(self, reason: str) -> None:
        """Writes `end.json`: the epochs published, and why the run ended."""
        tf.io.gfile.makedirs(self.path)
        write_atomically(self.end_path, json.dumps({"epochs": self.published, "reason": reason}).encode())

    def wait(self, epoch: int, timeout: float) -> EpochSnapshot:
        """The snapshot of `epoch`, once the chief has published it.

        Raises:
            SnapshotTimeoutError: none came within `timeout` seconds.
            SnapshotError: the chief ended its run, or moved past `epoch`.
        """
        path = self._epoch_path(epoch)
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            if tf.io.gfile.exists(path):
                with tf.io.gfile.GFile(path, "r") as f:
                    snapshot = EpochSnapshot.from_json(f.read())
                if (snapshot.run, snapshot.epoch) != (self.run, epoch):
                    raise SnapshotError(f"{path} is for run {snapshot.run} epoch {snapshot.epoch}")
                return snapshot
            if tf.io.gfile.exists(self.end_path):
                with tf.io.gfile.GFile(self.end_path, "r") as f:
                    end = json.load(f)
                raise SnapshotError(
                    f"The chief ended run {self.run} ({end['reason']}) after epochs {end['epochs']}; "
                    f"this worker waited for epoch {epoch}."
                )
            later = self._later_epochs(epoch)
            if later:
                raise SnapshotError(
                    f"The chief published epoch {later[0]} but not epoch {epoch}, which this worker "
                    "is about to train: the workers disagree on the initial epoch (give them the "
                    "same initial_epoch, and the same BackupAndRestore backups)."
                )
            if time.monotonic() >= deadline:
                raise SnapshotTimeoutError(
                    f"No snapshot of epoch {epoch} from the chief in {timeout:g} s (expected at {path}). "
                    "Is the chief running, in the same cluster (TF_CONFIG), and does it write to the "
                    "same snapshot folder (shared by all workers)?"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def _later_epochs(self, epoch: int) -> list[int]:
        if not tf.io.gfile.isdir(self.path):
            return []
        epochs = []
        for name in tf.io.gfile.listdir(self.path):
            if name.startswith("epoch-") and name.endswith(".json"):
                number = int(name[len("epoch-") : -len(".json")])
                if number > epoch:
                    epochs.append(number)
        return sorted(epochs)
