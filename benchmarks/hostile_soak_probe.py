"""The hostile soak's trainer: `python -m benchmarks.hostile_soak_probe CONFIG START`, killed at will.

`python -m benchmarks.hostile_soak_probe control EPOCHS ROWS RECORDS` is its Keras control: the same
model and callbacks for EPOCHS epochs, one `model.fit` per epoch as our trainer calls it, on ROWS
static rows in a `tf.data` pipeline rebuilt each epoch as a hand-written loop rebuilds it, and the
same extra unshuffled pass per epoch; it appends `{"epoch", "pid", "rss"}` lines to RECORDS. What its
memory grows by is Keras's and TensorFlow's own (about 18 KiB a `fit` call, `rebuild_probe keras`).

CONFIG is the JSON file the supervisor (`benchmarks.hostile_soak`) writes: the folders, the epochs
and the window; START counts the trainer's earlier starts. The trainer tails the folder with a
window, `storage="disk"` and `state_dir`, and resumes with `BackupAndRestore`. Its `EpochRecorder`
appends one JSON line per finished epoch to the records file: what the epoch trained (its lineage
and the ids of its rows) and what the process held (open files, memory maps, resident memory,
bytes on disk). At each epoch's end it hands the turn to the producer and waits until the producer
has written its step, so that nothing is written while the trainer polls.
"""

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import keras_growing_data as kgd
from benchmarks.hostile_soak_producer import write_atomically
from benchmarks.memory_probe import status
from benchmarks.soak_probe import folder_bytes

TURN_TIMEOUT = 600.0  # Seconds to wait for the producer before giving up: the supervisor is gone.


def read_step(sync: Path) -> int:
    """The producer's last finished step, as the supervisor published it."""
    return int((sync / "step").read_text())


def id_runs(ids: np.ndarray) -> list[list[int]]:
    """Sorted distinct ids as `[first, last]` runs of consecutive ids (a compact record)."""
    if ids.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(ids) != 1) + 1
    return [[int(run[0]), int(run[-1])] for run in np.split(ids, breaks)]


def open_files(under: str) -> tuple[int, int]:
    """This process's open file descriptors: all of them, and those of files under `under`."""
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # The descriptor listdir itself used, closed since.
            continue
    return len(targets), sum(target.startswith(under) for target in targets)


def memory_maps(under: str) -> tuple[int, int]:
    """This process's memory maps: all of them, and those of files under `under`."""
    with open("/proc/self/maps") as maps:
        lines = maps.read().splitlines()
    return len(lines), sum(line.split()[-1].startswith(under) for line in lines if len(line.split()) > 5)


def state_sizes(state_dir: str) -> dict[str, int]:
    """Bytes of a state folder's rows (`rows/`), its snapshot and its journal; the journal's records."""
    journals = sorted(Path(state_dir).glob("journal-*"))
    snapshot = Path(state_dir, "state.json")
    return dict(
        state_rows_bytes=folder_bytes(os.path.join(state_dir, "rows")),
        snapshot_bytes=snapshot.stat().st_size if snapshot.exists() else 0,
        journal_bytes=sum(journal.stat().st_size for journal in journals),
        journal_records=sum(journal.read_bytes().count(b"\n") for journal in journals),
    )


class EpochRecorder(keras.callbacks.Callback):
    """Records each epoch's training set and the process's resources; takes turns with the producer.

    At an epoch's begin (after its boundary poll) it reads the epoch's lineage and the ids of the
    rows it trains (one unshuffled pass over `data`'s rows), and samples the process; at its end
    it appends the record, flushed, then asks the producer for a step and waits for it.

    Args:
        data: the trainer's `GrowingDataCallback`.
        config: the supervisor's configuration (its folders and `epochs`).
        start: how many times the trainer was started before this process.
    """

    def __init__(self, data: kgd.GrowingDataCallback, config: dict, start: int):
        super().__init__()
        self.data = data
        self.config = config
        self.start = start
        self.sync = Path(config["sync"])
        self.record = {}

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        lineage = self.data.lineage[epoch]
        files = [[path, getattr(self.data.accepted.get(path), "inode", None)] for path in lineage.files]
        ids = np.concatenate([x[:, 0].numpy() for x, _ in self.data.build_dataset(shuffle=False)])
        ids = ids.astype(np.int64)
        distinct, counts = np.unique(ids, return_counts=True)
        fds, data_fds = open_files(self.config["root"])
        maps, data_maps = memory_maps(self.config["root"])
        self.record = dict(
            epoch=epoch,
            step=read_step(self.sync),
            start=self.start,
            pid=os.getpid(),
            files=files,
            files_left=lineage.files_left,
            lineage_rows=lineage.rows,
            rows=int(ids.size),
            ids=id_runs(distinct),
            twice=[[int(i), int(c)] for i, c in zip(distinct[counts > 1], counts[counts > 1], strict=True)],
            fds=fds,
            data_fds=data_fds,
            maps=maps,
            data_maps=data_maps,
            rss=status("VmRSS"),
            **state_sizes(self.config["state_dir"]),
            storage_bytes=folder_bytes(self.config["storage_dir"]),
            time=time.time(),
        )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.record["logs"] = {
            key: float(logs[key]) for key in ("rows", "files", "files_left", "loss") if key in logs
        }
        with open(self.config["records"], "a") as records:
            records.write(json.dumps(self.record) + "\n")
            records.flush()
        if epoch + 1 < self.config["epochs"]:
            self.take_turns()

    def take_turns(self) -> None:
        """Asks the producer for its next step and waits until it is written."""
        wanted = read_step(self.sync) + 1
        write_atomically(self.sync / "request", str(wanted))
        deadline = time.monotonic() + TURN_TIMEOUT
        while read_step(self.sync) < wanted:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the producer did not write step {wanted} in {TURN_TIMEOUT:.0f} s")
            time.sleep(0.002)


def tiny_model() -> keras.Model:
    """A linear model of the feature column; the id column (first) is only carried through."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Lambda(lambda x: x[:, 1:]), keras.layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    return model


class ControlRecorder(keras.callbacks.Callback):
    """`EpochRecorder`'s work on a plain `tf.data` pipeline: one unshuffled pass, then the sample."""

    def __init__(self, dataset: Callable[[], tf.data.Dataset], records: str):
        super().__init__()
        self.dataset = dataset
        self.records = records

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        ids = np.concatenate([x[:, 0].numpy() for x, _ in self.dataset()])
        np.unique(ids, return_counts=True)
        open_files("/")
        memory_maps("/")
        self.record = dict(epoch=epoch, pid=os.getpid(), rss=status("VmRSS"))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        with open(self.records, "a") as records:
            records.write(json.dumps(self.record) + "\n")


def control(epochs: str, rows: str, records: str) -> None:
    values = np.random.default_rng(0).normal(size=(int(rows), 2)).astype(np.float32)
    values[:, 0] = np.arange(int(rows))
    labels = values[:, 1:] * 2.0

    def dataset(shuffle: bool = False) -> tf.data.Dataset:
        rebuilt = tf.data.Dataset.from_tensor_slices((values, labels))
        return (rebuilt.shuffle(int(rows)) if shuffle else rebuilt).batch(64)

    model = tiny_model()
    with tempfile.TemporaryDirectory(prefix="kgd-soak-control-") as backup:
        callbacks = [
            keras.callbacks.BackupAndRestore(backup, double_checkpoint=True),
            ControlRecorder(dataset, records),
        ]
        for epoch in range(int(epochs)):
            model.fit(
                dataset(shuffle=True), initial_epoch=epoch, epochs=epoch + 1, callbacks=callbacks, verbose=0
            )


def main(config_path: str, start: str) -> None:
    config = json.loads(Path(config_path).read_text())
    data = kgd.GrowingDataCallback(
        config["folder"],
        label="label",
        batch_size=64,
        recursive=True,
        appends="tail",
        window=kgd.Window(files=config["window_files"]),
        storage="disk",
        storage_dir=config["storage_dir"],
        state_dir=config["state_dir"],
        settle_seconds=0,
        seed=0,
    )
    callbacks = [
        # double_checkpoint: a kill inside Keras's weight save would leave a backup no restart opens.
        keras.callbacks.BackupAndRestore(config["backup_dir"], double_checkpoint=True),
        EpochRecorder(data, config, int(start)),
    ]
    kgd.GrowingDatasetTrainer(tiny_model(), data).fit(epochs=config["epochs"], callbacks=callbacks, verbose=0)
    write_atomically(Path(config["sync"]) / "done", str(os.getpid()))


if __name__ == "__main__":
    if sys.argv[1] == "control":
        control(*sys.argv[2:])
    else:
        main(*sys.argv[1:])
