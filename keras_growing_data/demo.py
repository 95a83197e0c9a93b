"""A self-contained demo: a producer drops CSV files while a model trains."""

import os
import tempfile
import threading

import keras
import numpy as np

from keras_growing_data.callback import GrowingDataCallback
from keras_growing_data.trainer import GrowingDatasetTrainer

FEATURES = 8


def write_synthetic_file(path: str, rows: int, seed: int) -> None:
    """Writes `rows` rows of `price = x . w + noise` to `path`, atomically.

    The weights are fixed, so every file samples the same relation.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, FEATURES)).astype("float32")
    w = np.linspace(-1.0, 1.0, FEATURES, dtype="float32")
    y = x @ w + 0.1 * rng.normal(size=rows).astype("float32")
    header = ",".join([f"x{i}" for i in range(FEATURES)] + ["price"])
    partial = path + ".part"
    np.savetxt(partial, np.column_stack([x, y]), delimiter=",", fmt="%.6g", header=header, comments="")
    os.replace(partial, path)


class GrowthPrinter(keras.callbacks.Callback):
    """Prints one line each time the data grew at an epoch boundary."""

    def __init__(self, data: GrowingDataCallback):
        super().__init__()
        self.data = data

    def on_train_begin(self, logs=None):
        self.rows = 0
        self.files = 0

    def on_epoch_begin(self, epoch, logs=None):
        rows, files = self.data.num_rows, len(self.data.accepted)
        if rows != self.rows:
            print(
                f"growth at epoch {epoch + 1}: +{files - self.files} files, "
                f"+{rows - self.rows} rows -> {rows} rows from {files} files"
            )
        self.rows, self.files = rows, files


class Producer(keras.callbacks.Callback):
    """Drops the next file from a thread early in each epoch, while it trains.

    Each file is written by the time the epoch ends, so the demo is
    repeatable: epoch k trains on k + 1 files until all have landed.
    """

    def __init__(self, folder: str, files: int, rows_per_file: int):
        super().__init__()
        self.folder = folder
        self.files = files
        self.rows_per_file = rows_per_file
        self.thread = None

    def on_train_begin(self, logs=None):
        self.next_file = 1

    def on_epoch_begin(self, epoch, logs=None):
        if self.next_file < self.files:
            path = os.path.join(self.folder, f"part-{self.next_file:03d}.csv")
            args = (path, self.rows_per_file, self.next_file)
            self.thread = threading.Thread(target=write_synthetic_file, args=args)
            self.thread.start()
            self.next_file += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.thread is not None:
            self.thread.join()
            self.thread = None


def run_demo(
    epochs: int = 12, files: int = 8, rows_per_file: int = 2000, verbose: str | int = "auto"
) -> keras.callbacks.History:
    """Trains a small regression model while files keep landing; returns History."""
    with tempfile.TemporaryDirectory(prefix="kgd-demo-") as folder:
        write_synthetic_file(os.path.join(folder, "part-000.csv"), rows_per_file, seed=0)
        print(f"Watching {folder}: a producer adds {files - 1} more files of {rows_per_file} rows.")
        data = GrowingDataCallback(folder, label="price", batch_size=64, seed=0, settle_seconds=0)
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((FEATURES,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
        )
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        producer = Producer(folder, files, rows_per_file)
        history = GrowingDatasetTrainer(model, data).fit(
            epochs=epochs, callbacks=[producer, GrowthPrinter(data)], verbose=verbose
        )
    print(f"Trained {epochs} epochs; data grew to {data.num_rows} rows from {len(data.accepted)} files.")
    return history
