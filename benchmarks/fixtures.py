"""The data, pipelines and model that several sections share: synthetic CSV files and their rows."""

import io
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

try:
    import pandas as pd
except ImportError:
    pd = None

COLUMNS = 11
LABEL = f"c{COLUMNS - 1}"
HEADER = (",".join(f"c{i}" for i in range(COLUMNS)) + "\n").encode()
RECORD_DEFAULTS = [[0.0]] * COLUMNS
BATCH_SIZE = 256
SHUFFLE_BUFFER = 10_000


class CsvSource:
    """Synthetic float32 rows, their CSV text, and CSV files cut from it."""

    def __init__(self, num_rows: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(num_rows, COLUMNS - 1)).astype(np.float32)
        weights = np.linspace(-1.0, 1.0, COLUMNS - 1, dtype=np.float32)
        y = x @ weights + 0.1 * rng.normal(size=num_rows).astype(np.float32)
        self.rows = np.column_stack([x, y]).astype(np.float32)
        buffer = io.BytesIO()
        np.savetxt(buffer, self.rows, fmt="%.7g", delimiter=",")
        self.text = buffer.getvalue()
        newlines = np.flatnonzero(np.frombuffer(self.text, np.uint8) == ord("\n")) + 1
        self.line_starts = np.concatenate([[0], newlines])

    def write(self, path: Path, start: int, stop: int) -> str:
        """Writes rows `start:stop` as a complete CSV file, last modified a minute ago."""
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(HEADER + self.text[self.line_starts[start] : self.line_starts[stop]])
        past = time.time() - 60
        os.utime(partial, (past, past))
        os.replace(partial, path)
        return str(path)

    def write_files(self, folder: Path, files: int, rows_per_file: int) -> list[str]:
        folder.mkdir(parents=True, exist_ok=True)
        return [
            self.write(folder / f"part-{i:05d}.csv", i * rows_per_file, (i + 1) * rows_per_file)
            for i in range(files)
        ]


def split_label(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return rows[:, :-1], rows[:, -1]


def in_memory_dataset(rows: np.ndarray) -> tf.data.Dataset:
    """The usual input pipeline on rows already in memory."""
    dataset = tf.data.Dataset.from_tensor_slices(split_label(rows))
    return dataset.shuffle(SHUFFLE_BUFFER).batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)


def parse_line_in_python(line: tf.Tensor) -> np.ndarray:
    return np.array([float(value) for value in line.numpy().split(b",")], dtype=np.float32)


def seed_recipe_rows(path: str) -> tf.data.Dataset:
    """The seed recipe: one `py_function` call per line."""

    def parse(line):
        row = tf.py_function(parse_line_in_python, [line], tf.float32)
        row.set_shape([COLUMNS])
        return row

    return tf.data.TextLineDataset(path).skip(1).map(parse)


def new_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((COLUMNS - 1,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile("adam", "mse")
    return model


class EpochClock(keras.callbacks.Callback):
    """Records `perf_counter()` and the process's CPU time at every epoch's begin and end."""

    def __init__(self):
        super().__init__()
        self.begins = []
        self.ends = []
        self.cpu_begins = []
        self.cpu_ends = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.begins.append(time.perf_counter())
        self.cpu_begins.append(time.process_time())

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.ends.append(time.perf_counter())
        self.cpu_ends.append(time.process_time())
