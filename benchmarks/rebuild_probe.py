"""Resident memory per dataset rebuild, ours against plain tf.data and Keras, in a fresh process.

`python -m benchmarks.rebuild_probe MODE REBUILDS` grows the rows by 10 at each of REBUILDS steps
and prints one JSON line: the slope of VmRSS over the steps after the 100th, in KiB per step, and
the same growth measured after `malloc_trim(0)` at step 100 and at the last step (memory that
glibc holds free but has not given back to the system is not counted there). The modes:

- `store-memory`, `store-disk`: `RowStore.dataset` rebuilt, one pass over it, per step.
- `store-fixed`: one `MemoryRowStore` dataset built once, one pass per step (no rebuild).
- `tfdata`: `from_tensor_slices(arrays).shuffle(...).batch(...)` rebuilt from growing arrays.
- `keras`: `model.fit` on that rebuilt dataset, one `fit` per step.
- `trainer-memory`, `trainer-disk`: `GrowingDatasetTrainer.fit`, a file landing at each epoch.
"""

import ctypes
import gc
import json
import os
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

import keras_growing_data as kgd
from benchmarks.memory_probe import status
from keras_growing_data.storage.disk_store import DiskRowStore
from keras_growing_data.storage.memory_store import MemoryRowStore

SETTLED = 100  # Steps left out of the slope: TensorFlow's and Keras's first traces and caches.
ROWS_PER_STEP = 10
BATCH = 32


class Samples:
    """VmRSS after every step, and after `malloc_trim` at the first settled step and at the last."""

    def __init__(self, steps: int):
        self.steps = steps
        self.rss = []
        self.trimmed = {}
        self._libc = ctypes.CDLL("libc.so.6")

    def step(self) -> None:
        gc.collect()
        self.rss.append(status("VmRSS"))
        if len(self.rss) in (SETTLED, self.steps):
            self._libc.malloc_trim(0)
            self.trimmed[len(self.rss)] = status("VmRSS")

    def figures(self) -> dict[str, float]:
        steps = np.arange(SETTLED, len(self.rss))
        slope = np.polyfit(steps, np.array(self.rss[SETTLED:]), 1)[0]
        trimmed = (self.trimmed[self.steps] - self.trimmed[SETTLED]) / (self.steps - SETTLED)
        return {"kib_per_step": round(slope / 1024, 2), "kib_per_step_trimmed": round(trimmed / 1024, 2)}


def split(batch: dict[str, tf.Tensor]):
    return batch["float32"][:, :3], batch["float32"][:, 3]


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def write_file(folder: str, number: int, rng: np.random.Generator) -> None:
    path = os.path.join(folder, f"f{number:05d}.csv")
    lines = [",".join(f"{v:.4f}" for v in row) for row in rng.random((ROWS_PER_STEP, 4))]
    with open(path, "w") as f:
        f.write("a,b,c,y\n" + "\n".join(lines) + "\n")
    os.utime(path, (1e9 + number, 1e9 + number))


def run(mode: str, steps: int) -> Samples:
    samples = Samples(steps)
    rng = np.random.default_rng(0)
    arrays = np.zeros((0, 4), np.float32)
    if mode in ("store-memory", "store-disk", "store-fixed"):
        store = DiskRowStore(tempfile.mkdtemp(), seed=1) if mode == "store-disk" else MemoryRowStore(seed=1)
        if mode == "store-fixed":
            store.append({"float32": rng.random((steps * ROWS_PER_STEP, 4), dtype=np.float32)})
            dataset = store.dataset(BATCH, transform=split)
        for _ in range(steps):
            if mode != "store-fixed":
                store.append({"float32": rng.random((ROWS_PER_STEP, 4), dtype=np.float32)})
                dataset = store.dataset(BATCH, transform=split)
            for _ in dataset:
                pass
            samples.step()
    elif mode in ("tfdata", "keras"):
        model = tiny_model()
        for step in range(steps):
            arrays = np.concatenate([arrays, rng.random((ROWS_PER_STEP, 4), dtype=np.float32)])
            dataset = tf.data.Dataset.from_tensor_slices((arrays[:, :3], arrays[:, 3]))
            dataset = dataset.shuffle(len(arrays), seed=step).batch(BATCH)
            if mode == "keras":
                model.fit(dataset, epochs=step + 1, initial_epoch=step, verbose=0)
            else:
                for _ in dataset:
                    pass
            samples.step()
    elif mode in ("trainer-memory", "trainer-disk"):
        folder = tempfile.mkdtemp()
        write_file(folder, 0, rng)
        storage = mode.removeprefix("trainer-")
        data = kgd.GrowingDataCallback(
            folder, label="y", batch_size=BATCH, settle_seconds=0, seed=1, storage=storage
        )

        class FileEachEpoch(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                write_file(folder, epoch + 1, rng)
                samples.step()

        trainer = kgd.GrowingDatasetTrainer(tiny_model(), data)
        trainer.fit(epochs=steps, callbacks=[FileEachEpoch()], verbose=0)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return samples


def main(mode: str, steps: str) -> None:
    figures = run(mode, int(steps)).figures()
    print(json.dumps({"mode": mode, "steps": int(steps), **figures}))


if __name__ == "__main__":
    main(*sys.argv[1:])
