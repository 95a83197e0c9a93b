"""Helpers the tests share: CSV files, a model that counts the rows it trains on, subprocesses."""

import os

import keras
import numpy as np
import tensorflow as tf

OLD = 1_000_000_000  # A modification time long past: the file has settled.


def write_csv(path, rows, header=("id", "x", "price"), mtime=OLD):
    """Writes rows (a list of tuples, or an int for that many id rows)."""
    if isinstance(rows, int):
        rows = id_rows(0, rows)
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def id_rows(first_id, count):
    """Rows `(id, x, price)` with ids `first_id ... first_id + count - 1`."""
    return [(i, i % 7, 2 * (i % 7) + 1) for i in range(first_id, first_id + count)]


class SeenRows(keras.layers.Layer):
    """Counts, in training, how often each row id (feature 0) passes through."""

    def __init__(self, max_ids, **kwargs):
        super().__init__(**kwargs)
        self.max_ids = max_ids

    def build(self, input_shape):
        self.counts = self.add_weight(
            shape=(self.max_ids,), initializer="zeros", trainable=False, name="counts"
        )

    def call(self, x, training=False):
        if training:
            ids = tf.cast(x[:, 0], tf.int32)
            self.counts.assign_add(
                tf.math.bincount(ids, minlength=self.max_ids, maxlength=self.max_ids, dtype="float32")
            )
        return x[:, 1:]


class EpochCounts(keras.callbacks.Callback):
    """Collects, per epoch, how often each row id was trained on."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.per_epoch = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.layer.counts.assign(np.zeros(self.layer.max_ids, "float32"))

    def on_epoch_end(self, epoch, logs=None):
        self.per_epoch[epoch] = np.asarray(self.layer.counts.numpy())


def counting_model(max_ids=10_000, seed=0):
    keras.utils.set_random_seed(seed)
    seen = SeenRows(max_ids)
    model = keras.Sequential([keras.Input((2,)), seen, keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.001), loss="mse")
    return model, EpochCounts(seen)


def run_python(tmp_path, source, *args, timeout=300):
    """Runs `source` as a script in a fresh Python process; returns it finished.

    The script can import this folder's helpers and the package from the
    checkout, installed or not.
    """
    import subprocess
    import sys

    tests = os.path.dirname(os.path.abspath(__file__))
    script = tmp_path / f"script_{abs(hash(source))}.py"
    script.write_text(f"import sys\nsys.path[:0] = [{tests!r}, {os.path.dirname(tests)!r}]\n" + source)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)], env=env, capture_output=True, timeout=timeout
    )


def snapshot_of(folder, names, epoch=0, run="run-test"):
    """The `EpochSnapshot` a chief would publish for these files of `folder`."""
    from keras_growing_data.distribute.snapshot import EpochSnapshot, SnapshotFile
    from keras_growing_data.sources.vocabulary import digest

    files = []
    for name in names:
        stat = os.stat(folder / name)
        rows = sum(1 for _ in open(folder / name)) - 1
        files.append(SnapshotFile(name, rows, stat.st_size, stat.st_mtime_ns))
    return EpochSnapshot(
        run=run,
        epoch=epoch,
        seed=5,
        batch_size=8,
        shuffle=True,
        num_workers=2,
        labels=("price",),
        schema=(("id", "float32"), ("x", "float32"), ("price", "float32")),
        vocabularies=digest({}),
        on_bad_row="reject",
        files=tuple(files),
    )


CITIES = ["Austin", "Oslo", "Lima", "São Paulo", "New York, NY", 'The "Big" Easy']
MIXED_HEADER = ("id", "city", "rooms", "area", "price")


def mixed_rows(first_id, count, cities=3):
    """Rows `(id, city, rooms, area, price)`: a float id, a string, an integer, a float and a float label."""
    return [
        (i, CITIES[i % cities], 1 + i % 4, 20.0 + i % 50, 3.0 * (i % 50) + 10 * (i % cities))
        for i in range(first_id, first_id + count)
    ]


def write_mixed_csv(path, rows, mtime=OLD):
    """Writes mixed rows as a producer would: strings quoted where CSV needs it."""
    import csv

    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(MIXED_HEADER)
        writer.writerows(rows)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)
