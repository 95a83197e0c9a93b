"""Helpers the tests share: CSV files, a model that counts the rows it trains on, subprocesses."""

import os

import keras
import numpy as np
import pytest

OLD = 1_000_000_000  # A modification time long past: the file has settled.

TENSORFLOW_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TensorFlow-only (tf.distribute, tf.string inputs), or the same on every backend",
)


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
    """Counts, in training, how often each row id (feature 0) passes through, and in which step.

    Written with `keras.ops`, so it counts on every backend. A padded last
    batch (`GrowingDataCallback(pad_last_batch=...)`) repeats some of its rows
    with sample weight 0, which trains nothing: an id counts once per batch.
    """

    def __init__(self, max_ids, **kwargs):
        super().__init__(**kwargs)
        self.max_ids = max_ids

    def build(self, input_shape):
        def zeros(name, shape):
            return self.add_weight(shape=shape, initializer="zeros", trainable=False, name=name)

        self.counts = zeros("counts", (self.max_ids,))
        self.steps = zeros("steps", (self.max_ids,))  # Per id, the sum of the steps it was in.
        self.step = zeros("step", ())

    def call(self, x, training=False):
        if training:
            ids = keras.ops.cast(x[:, 0], "int32")
            in_batch = keras.ops.max(keras.ops.one_hot(ids, self.max_ids), axis=0)
            self.counts.assign_add(in_batch)
            self.steps.assign_add(in_batch * self.step)
            self.step.assign_add(1.0)
        return x[:, 1:]

    def reset(self):
        for variable in (self.counts, self.steps, self.step):
            variable.assign(keras.ops.zeros(variable.shape))


class EpochCounts(keras.callbacks.Callback):
    """Collects, per epoch, how often each row id was trained on (`per_epoch`) and in which step (`steps`)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.per_epoch = {}
        self.steps = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.layer.reset()

    def on_epoch_end(self, epoch, logs=None):
        self.per_epoch[epoch] = keras.ops.convert_to_numpy(self.layer.counts)
        self.steps[epoch] = keras.ops.convert_to_numpy(self.layer.steps)


class BatchLogs(keras.callbacks.Callback):
    """Records each training batch's logs (running means over the epoch so far)."""

    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append({k: float(v) for k, v in logs.items()})


def steps_of_rows(dataset, max_ids=10_000):
    """Per row id, the step (batch index) in which one pass over `dataset` serves it."""
    steps = np.zeros(max_ids, "float32")
    for step, batch in enumerate(dataset):
        steps[np.asarray(batch[0])[:, 0].astype(int)] = step
    return steps


def counting_model(max_ids=10_000, seed=0):
    keras.utils.set_random_seed(seed)
    seen = SeenRows(max_ids)
    model = keras.Sequential([keras.Input((2,)), seen, keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.001), loss="mse")
    return model, EpochCounts(seen)


def run_python(tmp_path, source, *args, timeout=300, env=None):
    """Runs `source` as a script in a fresh Python process; returns it finished.

    The script can import this folder's helpers and the package from the
    checkout, installed or not.
    """
    import subprocess
    import sys

    tests = os.path.dirname(os.path.abspath(__file__))
    script = tmp_path / f"script_{abs(hash(source))}.py"
    script.write_text(f"import sys\nsys.path[:0] = [{tests!r}, {os.path.dirname(tests)!r}]\n" + source)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
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


GAPPY_HEADER = ("city", "rooms", "area", "price")
# "" and "NA" are missing values; the others are kept as written (" Lima" with its space).
GAPPY_CITIES = ("Austin", "Oslo", "", "New York, NY", "NA", 'The "Big" Easy', " Lima")
GAPPY_COLUMNS = {"city": "string", "rooms": "int64", "area": "float32", "price": "float32"}


def write_gappy_csv(path, count=70, cities=GAPPY_CITIES):
    """Writes rows `(city, rooms, area, price)` as real tables have them; returns them read back.

    Every 5th area is empty, every other 9th is `0x1p4` (16.0), the rest
    are quarters (exact in float32); cities cycle through `cities`. The
    rows come back as `csv.DictReader` reads them: every value its text.
    """
    import csv

    rows = []
    for i in range(count):
        area = "" if i % 5 == 0 else "0x1p4" if i % 9 == 0 else f"{20 + i * 0.25}"
        rows.append((cities[i % len(cities)], 1 + i % 4, area, 10 * (1 + i % 4) + i % 7))
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(GAPPY_HEADER)
        writer.writerows(rows)
    os.utime(path, (OLD, OLD))
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class TracedSequential(keras.Sequential):
    """A `Sequential` that counts how often its train step is traced (`traces`)."""

    traces = 0

    def train_step(self, *args):  # TensorFlow and torch pass (data), JAX (state, data).
        type(self).traces += 1
        return super().train_step(*args)


def train_step_compiles(model: TracedSequential) -> int:
    """How often the train step was compiled so far: traced by `tf.function` or `jax.jit`, or by torch.

    On torch, Python runs at every step, so the count is the graphs that
    `torch.compile` made in this process.
    """
    if keras.backend.backend() == "torch":
        from torch._dynamo.utils import counters

        return counters["stats"]["unique_graphs"]
    return model.traces


def write_parquet(path, table, mtime=OLD, **write_options):
    """Writes a pyarrow table (or a dict of columns, or an int for that many id rows) as a Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(table, int):
        table = id_table(0, table)
    if not isinstance(table, pa.Table):
        table = pa.table(table)
    pq.write_table(table, path, **write_options)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def id_table(first_id, count):
    """`id_rows` as a pyarrow table: `id` and `x` int64, `price` float64, as pandas would write them."""
    import pyarrow as pa

    ids, xs, prices = zip(*id_rows(first_id, count), strict=True) if count else ((), (), ())
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "x": pa.array(xs, pa.int64()),
            "price": pa.array(prices, pa.float64()),
        }
    )
