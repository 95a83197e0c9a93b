"""A long run of one-epoch steps in a fresh process, sampling time, memory and writes at every epoch.

`python -m benchmarks.soak_probe ours FOLDER PENDING STATE_DIR EPOCHS WINDOW BATCH LABEL` trains
through `GrowingDatasetTrainer.fit` with `state_dir`: FOLDER holds one file at the start, and each
epoch's end moves the next file of PENDING (in name order) into it, so every boundary takes one
file. `python -m benchmarks.soak_probe control ROWS EPOCHS WINDOW BATCH` trains the same model for
as many epochs on ROWS static rows in memory, one `model.fit` call per epoch, as the trainer does.
Either prints one JSON line: per epoch, its begin and end times, VmRSS and the bytes the process
wrote (`wchar`) at its begin (one more after the last epoch); idle `poll()` times (ours) and the
state folder's size at the windows' edges.
"""

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import keras_growing_data as kgd
from benchmarks.fixtures import COLUMNS, EpochClock, split_label
from benchmarks.harness import timed
from benchmarks.memory_probe import status

POLL_SAMPLES = 50  # Idle polls timed per window, at evenly spaced epochs.


def bytes_written() -> int:
    """Bytes this process passed to `write` and its kin so far (`wchar` of /proc/self/io)."""
    with open("/proc/self/io") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith("wchar:"))


def folder_bytes(folder: str) -> int:
    """The total size of the files under `folder`."""
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())


def metadata_bytes(state_dir: str) -> int:
    """Bytes of a state folder's records: its snapshot and journal, not the rows' segments."""
    names = [n for n in os.listdir(state_dir) if n == "state.json" or n.startswith("journal-")]
    return sum(os.path.getsize(os.path.join(state_dir, name)) for name in names)


def tiny_model() -> keras.Model:
    """A linear model, so that an epoch is mostly the boundary and `fit`'s own cost."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((COLUMNS - 1,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


class SoakClock(EpochClock):
    """An `EpochClock` that samples memory and writes at every begin, and lands a file at every end.

    At some begins, right after the boundary, it also times `poll()` with nothing new, and measures
    the state folder; `finish()` takes the last samples after the last epoch.
    """

    def __init__(
        self,
        epochs: int,
        window: int,
        land: Callable[[int], object] | None = None,
        poll: Callable[[], object] | None = None,
        state_dir: str | None = None,
    ):
        super().__init__()
        self.epochs = epochs
        self.land = land
        self.poll = poll
        self.state_dir = state_dir
        self.edges = {0, window, epochs - window, epochs}
        stride = max(1, window // POLL_SAMPLES)
        self.poll_epochs = {*range(0, window, stride), *range(epochs - window, epochs, stride)}
        self.rss = []
        self.written = []
        self.polls = {}
        self.state_bytes = {}
        self.manifest_bytes = {}

    def sample(self, epoch: int) -> None:
        self.rss.append(status("VmRSS"))
        self.written.append(bytes_written())
        if self.state_dir is not None and epoch in self.edges:
            self.state_bytes[epoch] = folder_bytes(self.state_dir)
            self.manifest_bytes[epoch] = metadata_bytes(self.state_dir)
        if self.poll is not None and epoch in self.poll_epochs:
            self.polls[epoch] = timed(self.poll)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_begin(epoch, logs)
        self.sample(epoch)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.land is not None and epoch + 1 < self.epochs:
            self.land(epoch + 1)
        super().on_epoch_end(epoch, logs)

    def finish(self) -> dict:
        """Takes the samples after the last epoch; all samples, as JSON keeps them."""
        self.sample(self.epochs)
        return dict(
            begins=self.begins,
            ends=self.ends,
            rss=self.rss,
            written=self.written,
            polls=self.polls,
            state_bytes=self.state_bytes,
            manifest_bytes=self.manifest_bytes,
        )


def soak_ours(folder: str, pending: str, state_dir: str, epochs: int, window: int, batch: int, label: str):
    paths = sorted(Path(pending).iterdir())

    def land(i: int) -> None:
        os.replace(paths[i], Path(folder) / paths[i].name)

    land(0)
    data = kgd.GrowingDataCallback(
        folder, label=label, batch_size=batch, settle_seconds=0, state_dir=state_dir
    )
    clock = SoakClock(epochs, window, land, data.poll, state_dir)
    history = kgd.GrowingDatasetTrainer(tiny_model(), data).fit(epochs=epochs, callbacks=[clock], verbose=0)
    if history.history["files"][-1] != epochs:
        raise RuntimeError(f"the last epoch trained on {history.history['files'][-1]} files, not {epochs}")
    return clock.finish()


def soak_control(rows: int, epochs: int, window: int, batch: int):
    values = np.random.default_rng(0).normal(size=(rows, COLUMNS)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices(split_label(values)).batch(batch)
    model = tiny_model()
    clock = SoakClock(epochs, window)
    for epoch in range(epochs):
        model.fit(dataset, initial_epoch=epoch, epochs=epoch + 1, callbacks=[clock], verbose=0)
    return clock.finish()


def main(mode: str, *args: str) -> None:
    start = time.perf_counter()
    if mode == "ours":
        folder, pending, state_dir, epochs, window, batch, label = args
        figures = soak_ours(folder, pending, state_dir, int(epochs), int(window), int(batch), label)
    else:
        rows, epochs, window, batch = map(int, args)
        figures = soak_control(rows, epochs, window, batch)
    print(json.dumps({**figures, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main(*sys.argv[1:])
