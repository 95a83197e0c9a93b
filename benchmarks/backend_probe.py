"""One backend's epoch times, in a fresh process (the backend is fixed when Keras is imported).

`KERAS_BACKEND=jax python -m benchmarks.backend_probe START WORK EPOCHS ARRIVAL_ROWS` times three
runs of `EPOCHS` epochs of the same model: `model.fit` on START's rows in memory, and
`GrowingDatasetTrainer` on a copy of START that gains one file of ARRIVAL_ROWS rows at every epoch
end (so the last batch changes size at every boundary), padded as `"auto"` decides, and unpadded
if that padded.
Prints one JSON line: each run's wall seconds per epoch (one epoch begin to the next: the
boundary included), and the backend.
"""

import json
import shutil
import sys
from pathlib import Path

import keras
import numpy as np

import keras_growing_data as kgd
from benchmarks.epochs import time_epochs
from benchmarks.fixtures import BATCH_SIZE, HEADER, LABEL, in_memory_dataset, new_model


class Arrivals(keras.callbacks.Callback):
    """Writes a file of `lines` (CSV text lines) into `folder` at every epoch end; notes if `data` pads."""

    def __init__(self, folder: Path, lines: list[bytes], per_file: int, data: kgd.GrowingDataCallback):
        super().__init__()
        self.folder, self.lines, self.per_file, self.data = folder, lines, per_file, data
        self.padded = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.padded = self.data.pads  # Set while the trainer serves padded batches.
        start = epoch * self.per_file
        text = b"".join(self.lines[start : start + self.per_file])
        (self.folder / f"zz-arrival-{epoch:05d}.csv").write_bytes(HEADER + text)


def fit_growing(start: str, folder: Path, lines: list[bytes], pad, epochs: int, arrival_rows: int):
    """Trains on a copy of `start` that gains a file at every epoch end: epoch times, padded, rows."""
    shutil.copytree(start, folder)
    data = kgd.GrowingDataCallback(
        str(folder), label=LABEL, batch_size=BATCH_SIZE, settle_seconds=0, pad_last_batch=pad
    )
    trainer = kgd.GrowingDatasetTrainer(new_model(), data)
    arrivals = Arrivals(folder, lines, arrival_rows, data)
    histories = []
    times = time_epochs(
        lambda clock: histories.append(trainer.fit(epochs=epochs, callbacks=[clock, arrivals], verbose=0))
    )
    return times, arrivals.padded, histories[0].history["rows"]


def main(start: str, work: str, epochs: str, arrival_rows: str) -> None:
    epochs, arrival_rows = int(epochs), int(arrival_rows)
    files = sorted(Path(start).glob("*.csv"))
    lines = [line for path in files for line in path.read_bytes().splitlines(keepends=True)[1:]]
    rows = np.loadtxt(lines, delimiter=",", dtype=np.float32)
    model, dataset = new_model(), in_memory_dataset(rows)
    control = time_epochs(lambda clock: model.fit(dataset, epochs=epochs, callbacks=[clock], verbose=0))
    result = {"backend": keras.backend.backend(), "control": control.wall}
    for name, pad in (("ours", "auto"), ("unpadded", False)):
        if name == "unpadded" and not result["ours_padded"]:
            break  # "auto" did not pad: the same run.
        times, padded, trained = fit_growing(start, Path(work) / name, lines, pad, epochs, arrival_rows)
        expected = [len(rows) + e * arrival_rows for e in range(epochs)]
        if trained != expected:
            raise AssertionError(f"{name}: rows per epoch {trained}, expected {expected}")
        result[name] = times.wall
        result[f"{name}_padded"] = padded
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
