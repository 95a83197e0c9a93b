"""Benchmarks of keras_growing_data against the usual alternatives, side by side.

Run from the repository root, `python -m benchmarks [--smoke] [--out FILE]`
(or `python benchmarks/run.py ...`). It writes its own CSV files into a
temporary folder (11 float32 columns `c0..c10` written with NumPy's "%.7g",
label `c10`), so it needs no network, and prints one markdown table. Within a
section every alternative runs in the same process, alternating between them
over the repetitions (in reverse order every other time), and the table
reports medians: drift of the machine hits all alternatives alike.

What is measured, and why:

1. Ingest, in rows/s from CSV files to float32 tensors: the ways TensorFlow
   users read CSV (per line through `py_function` or `decode_csv`,
   `CsvDataset`, batches of lines, whole files), pandas, and
   `GrowingDataCallback.poll()`. Every new file pays this before it trains.
2. Steady epoch time of a small model on 1M rows in 100 files: `model.fit` on
   the rows already in memory is the reference; ours adds a poll, the epoch's
   dataset and a `fit` call per epoch; the other ways to follow a growing folder
   re-read it every epoch. The training time (from `on_epoch_begin` to `on_epoch_end`)
   and the wall time per epoch (data preparation and `fit` call included) are
   both reported.
3. Boundary stall: the pause between two epochs when a large file landed
   during the first one, that is how long training waits for ingest.
4. Per-epoch cost after 1,000 small arrivals: a pass over the data must not
   slow down with the number of files, as a `Dataset.concatenate` chain does.
   The cost of each `poll()` as files accumulate is reported too.
5. Memory: resident memory growth of a fresh process holding 1M accepted rows,
   against their raw float32 size.
6. Storage: a pass over the same 1M accepted rows kept in memory (the default)
   and with `storage="disk"` (a memory-mapped file, for data larger than
   memory), iterated in a `tf.function` as `model.fit` does.

`--smoke` shrinks every size so that the run takes seconds: CI checks that it
runs; timings at that size mean nothing.
"""

import argparse
import dataclasses
import gc
import inspect
import io
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # `python benchmarks/run.py` puts only benchmarks/ on the path.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_growing_data as kgd  # noqa: E402

try:
    import pandas as pd
except ImportError:
    pd = None

T = TypeVar("T")

COLUMNS = 11
LABEL = f"c{COLUMNS - 1}"
HEADER = (",".join(f"c{i}" for i in range(COLUMNS)) + "\n").encode()
RECORD_DEFAULTS = [[0.0]] * COLUMNS
BATCH_SIZE = 256
SHUFFLE_BUFFER = 10_000
READ_BATCH = 4096
LINE_BATCH = 16_384
PASS_BATCH = 64
CSV_DATASET = "CsvDataset(paths, header=True).batch(4096)"
POLL_AND_PASS = "ours: poll() (nothing new) + one pass over data.dataset"
START = time.perf_counter()


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How big each section is and how often it repeats."""

    reps: int  # Repetitions of sections 1 and 3.
    pass_reps: int  # Repetitions of the passes of section 4.
    ingest_files: int
    ingest_rows_per_file: int
    seed_ingest_rows: int  # The per-line py_function recipe reads only this many rows.
    per_line_ingest_rows: int  # Per-line decode_csv reads only this many rows.
    train_files: int
    train_rows_per_file: int
    rounds: int
    epochs_per_round: int
    seed_train_files: int
    seed_train_rows_per_file: int
    stall_reps: int
    stall_base_files: int
    stall_landing_rows: int
    arrivals: int
    arrival_rows: int

    def source_rows(self) -> int:
        stall = self.stall_base_files * self.train_rows_per_file + self.reps * self.stall_landing_rows
        return max(
            self.ingest_files * self.ingest_rows_per_file,
            self.train_files * self.train_rows_per_file,
            stall,
            self.arrivals * self.arrival_rows,
        )


FULL = Sizes(
    reps=3,
    pass_reps=7,
    ingest_files=10,
    ingest_rows_per_file=100_000,
    seed_ingest_rows=10_000,
    per_line_ingest_rows=100_000,
    train_files=100,
    train_rows_per_file=10_000,
    rounds=7,
    epochs_per_round=1,
    seed_train_files=20,
    seed_train_rows_per_file=500,
    stall_reps=5,
    stall_base_files=10,
    stall_landing_rows=100_000,
    arrivals=1000,
    arrival_rows=8,
)
SMOKE = Sizes(
    reps=1,
    pass_reps=1,
    ingest_files=2,
    ingest_rows_per_file=2000,
    seed_ingest_rows=200,
    per_line_ingest_rows=2000,
    train_files=4,
    train_rows_per_file=500,
    rounds=1,
    epochs_per_round=2,
    seed_train_files=2,
    seed_train_rows_per_file=100,
    stall_reps=1,
    stall_base_files=2,
    stall_landing_rows=1000,
    arrivals=20,
    arrival_rows=8,
)


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the results table; `value` None means not measured."""

    section: str
    alternative: str
    value: float | None
    unit: str
    versus: str = ""
    note: str = ""


def log(message: str) -> None:
    print(f"[{time.perf_counter() - START:6.1f} s] {message}", file=sys.stderr, flush=True)


def number(value: float) -> str:
    """A value with three significant digits, without exponent for big ones."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def ratio(value: float, reference: float) -> str:
    return f"{number(value / reference)}x"


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], object]) -> float:
    """Seconds that `fn()` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(
    measures: dict[str, Callable[[], T]], reps: int, caps: Mapping[str, int] | None = None
) -> dict[str, list[T]]:
    """Runs every measure `reps` times, alternating, in reverse order every other time.

    A measure named in `caps` (too slow to repeat as often) runs only in its first `caps[name]`
    repetitions.
    """
    caps = caps or {}
    samples = {name: [] for name in measures}
    names = list(measures)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            if rep < caps.get(name, reps):
                samples[name].append(measures[name]())
    return samples


def count_rows(dataset: tf.data.Dataset) -> int:
    """Iterates a dataset to its end; the rows in its batches (first component)."""
    return sum(int(tf.nest.flatten(element)[0].shape[0]) for element in dataset)


@tf.function
def count_rows_in_graph(dataset: tf.data.Dataset) -> tf.Tensor:
    """Like `count_rows`, but iterating inside a `tf.function`, as `model.fit` does.

    Traced once per element spec, so every dataset of `(x, y)` batches shares
    one trace; a Python loop would add ~0.1 ms of eager overhead per batch.
    """
    rows = tf.constant(0, tf.int64)
    for element in dataset:
        rows += tf.cast(tf.shape(tf.nest.flatten(element)[0])[0], tf.int64)
    return rows


def check_rows(found: int, expected: int, what: str) -> None:
    if found != expected:
        raise RuntimeError(f"{what}: read {found} rows, expected {expected}")


# Data -------------------------------------------------------------------------------------------


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


# 1. Ingest -------------------------------------------------------------------------------------


def parse_line_in_python(line: tf.Tensor) -> np.ndarray:
    return np.array([float(value) for value in line.numpy().split(b",")], dtype=np.float32)


def seed_recipe_rows(path: str) -> tf.data.Dataset:
    """The seed recipe: one `py_function` call per line."""

    def parse(line):
        row = tf.py_function(parse_line_in_python, [line], tf.float32)
        row.set_shape([COLUMNS])
        return row

    return tf.data.TextLineDataset(path).skip(1).map(parse)


def decode_lines(lines: tf.Tensor) -> tuple[tf.Tensor, ...]:
    return tuple(tf.io.decode_csv(lines, RECORD_DEFAULTS))


def decode_whole_file(path: tf.Tensor) -> tuple[tf.Tensor, ...]:
    lines = tf.strings.split(tf.strings.strip(tf.io.read_file(path)), "\n")[1:]
    return decode_lines(lines)


def ingest_seed_recipe(paths: list[str], limit: int) -> int:
    return count_rows(seed_recipe_rows(paths[0]).take(limit).batch(READ_BATCH))


def ingest_decode_per_line(paths: list[str], limit: int) -> int:
    lines = tf.data.TextLineDataset(paths[0]).skip(1).take(limit)
    rows = lines.map(decode_lines, num_parallel_calls=tf.data.AUTOTUNE)
    return count_rows(rows.batch(READ_BATCH).prefetch(tf.data.AUTOTUNE))


def ingest_csv_dataset(paths: list[str]) -> int:
    dataset = tf.data.experimental.CsvDataset(paths, [tf.float32] * COLUMNS, header=True)
    return count_rows(dataset.batch(READ_BATCH).prefetch(tf.data.AUTOTUNE))


def ingest_line_batches(paths: list[str]) -> int:
    files = tf.data.Dataset.from_tensor_slices(paths)
    batches = files.interleave(
        lambda path: tf.data.TextLineDataset(path).skip(1).batch(LINE_BATCH),
        cycle_length=2,
        num_parallel_calls=2,
    )
    return count_rows(batches.map(decode_lines, num_parallel_calls=2).prefetch(tf.data.AUTOTUNE))


def ingest_whole_files(paths: list[str]) -> int:
    files = tf.data.Dataset.from_tensor_slices(paths)
    return count_rows(files.map(decode_whole_file, num_parallel_calls=2).prefetch(tf.data.AUTOTUNE))


def ingest_pandas(paths: list[str]) -> int:
    return sum(len(pd.read_csv(path, dtype=np.float32, engine="c").to_numpy()) for path in paths)


def ingest_ours(folder: str, parser: str = "auto") -> int:
    data = kgd.GrowingDataCallback(folder, label=LABEL, settle_seconds=0, parser=parser)
    data.poll()
    return data.num_rows


def ingest_measure(read: Callable[[], int], expected: int, what: str) -> Callable[[], float]:
    """A measure giving the M rows/s of `read()`, which must read `expected` rows."""

    def measure() -> float:
        start = time.perf_counter()
        rows = read()
        seconds = time.perf_counter() - start
        check_rows(rows, expected, what)
        return rows / seconds / 1e6

    return measure


def ingest_section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    folder = root / "ingest"
    paths = source.write_files(folder, sizes.ingest_files, sizes.ingest_rows_per_file)
    total = len(paths) * sizes.ingest_rows_per_file
    seed_rows, line_rows = sizes.seed_ingest_rows, min(sizes.per_line_ingest_rows, total)
    every = f"all {total:,} rows in {len(paths)} files"
    alternatives = {
        "seed recipe: TextLineDataset, py_function per line": (
            lambda: ingest_seed_recipe(paths, seed_rows),
            seed_rows,
            f"first {seed_rows:,} rows of one file only (too slow for all {total:,})",
        ),
        "TextLineDataset, decode_csv per line (AUTOTUNE map), batch": (
            lambda: ingest_decode_per_line(paths, line_rows),
            line_rows,
            f"first {line_rows:,} rows (one file)",
        ),
        CSV_DATASET: (lambda: ingest_csv_dataset(paths), total, every),
        "TextLineDataset batches of 16k lines + decode_csv, 2 files interleaved": (
            lambda: ingest_line_batches(paths),
            total,
            every,
        ),
        "read_file + strings.split + decode_csv, 2 files in parallel": (
            lambda: ingest_whole_files(paths),
            total,
            every,
        ),
    }
    if pd is not None:
        alternatives["pandas.read_csv(dtype=float32), C engine"] = (
            lambda: ingest_pandas(paths),
            total,
            every,
        )
    alternatives['ours, parser="tensorflow": fresh GrowingDataCallback(...).poll()'] = (
        lambda: ingest_ours(str(folder), parser="tensorflow"),
        total,
        f"{every}; validated, stacked [rows, 11]; decode_csv on chunks of lines, 2 threads",
    )
    if pd is not None:
        alternatives["ours (default): fresh GrowingDataCallback(...).poll()"] = (
            lambda: ingest_ours(str(folder)),
            total,
            f"{every}; validated, stacked [rows, 11]; pandas' C parser on plain chunks, 2 threads",
        )
    measures = {name: ingest_measure(read, rows, name) for name, (read, rows, _) in alternatives.items()}
    rates = {name: median(samples) for name, samples in interleave(measures, sizes.reps).items()}
    return ingest_rows(rates, {name: note for name, (_, _, note) in alternatives.items()})


def ingest_rows(rates: dict[str, float], notes: dict[str, str]) -> list[Row]:
    csv_rate = rates[CSV_DATASET]
    pandas_rate = next((rate for name, rate in rates.items() if name.startswith("pandas")), None)
    rows = []
    for name, rate in rates.items():
        versus = f"{ratio(rate, csv_rate)} CsvDataset"
        if pandas_rate is not None:
            versus += f", {ratio(rate, pandas_rate)} pandas"
        rows.append(Row("1 ingest", name, rate, "M rows/s", versus, notes[name]))
    if pandas_rate is None:
        rows.append(Row("1 ingest", "pandas.read_csv", None, "M rows/s", "", "skipped: pandas not installed"))
    return rows


# 2. Steady epoch time --------------------------------------------------------------------------


class EpochClock(keras.callbacks.Callback):
    """Records `perf_counter()` and the process's CPU time at every epoch's begin and end."""

    def __init__(self):
        super().__init__()
        self.begins = []
        self.ends = []
        self.cpu_begins = []
        self.cpu_ends = []

    def on_epoch_begin(self, epoch, logs=None):
        self.begins.append(time.perf_counter())
        self.cpu_begins.append(time.process_time())

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())
        self.cpu_ends.append(time.process_time())


@dataclasses.dataclass
class EpochTimes:
    """Per-epoch seconds: training (epoch begin to end), wall (all the run, split at epoch begins)
    and CPU (all threads' CPU time from epoch begin to end, which time stolen from this virtual
    machine by its neighbours does not inflate)."""

    train: list[float]
    wall: list[float]
    cpu: list[float]


def time_epochs(train: Callable[[EpochClock], object]) -> EpochTimes:
    """Times the epochs that `train(clock)` runs with `clock` among its callbacks."""
    clock = EpochClock()
    start = time.perf_counter()
    train(clock)
    end = time.perf_counter()
    edges = [start, *clock.begins[1:], end]
    walls = [b - a for a, b in itertools.pairwise(edges)]
    cpu = [e - b for b, e in zip(clock.cpu_begins, clock.cpu_ends, strict=True)]
    return EpochTimes([e - b for b, e in zip(clock.begins, clock.ends, strict=True)], walls, cpu)


def new_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((COLUMNS - 1,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile("adam", "mse")
    return model


Trainer = Callable[[EpochClock, int], object]


def fit_in_memory(rows: np.ndarray) -> Trainer:
    model, dataset = new_model(), in_memory_dataset(rows)
    return lambda clock, epochs: model.fit(dataset, epochs=epochs, callbacks=[clock], verbose=0)


def fit_ours(folder: str, expected: int) -> Trainer:
    data = kgd.GrowingDataCallback(folder, label=LABEL, batch_size=BATCH_SIZE, settle_seconds=0)
    trainer = kgd.GrowingDatasetTrainer(new_model(), data)

    def train(clock: EpochClock, epochs: int) -> None:
        history = trainer.fit(epochs=epochs, callbacks=[clock], verbose=0)
        check_rows(history.history["rows"][-1], expected, "ours")

    return train


def csv_training_dataset(paths: list[str]) -> tf.data.Dataset:
    dataset = tf.data.experimental.CsvDataset(paths, [tf.float32] * COLUMNS, header=True)
    dataset = dataset.shuffle(SHUFFLE_BUFFER).batch(BATCH_SIZE)
    return dataset.map(lambda *c: (tf.stack(c[:-1], axis=1), c[-1])).prefetch(tf.data.AUTOTUNE)


def fit_csv_each_epoch(paths: list[str]) -> Trainer:
    model = new_model()

    def train(clock: EpochClock, epochs: int) -> None:
        for _ in range(epochs):
            model.fit(csv_training_dataset(paths), epochs=1, callbacks=[clock], verbose=0)

    return train


def fit_pandas_each_epoch(paths: list[str]) -> Trainer:
    model = new_model()

    def train(clock: EpochClock, epochs: int) -> None:
        for _ in range(epochs):
            rows = np.concatenate([pd.read_csv(p, dtype=np.float32, engine="c").to_numpy() for p in paths])
            model.fit(in_memory_dataset(rows), epochs=1, callbacks=[clock], verbose=0)

    return train


def fit_seed_chain(paths: list[str]) -> Trainer:
    """The seed recipe: `old.concatenate(new)` per file, each parsed by py_function per line."""
    dataset = seed_recipe_rows(paths[0])
    for path in paths[1:]:
        dataset = dataset.concatenate(seed_recipe_rows(path))
    dataset = dataset.map(lambda row: (row[:-1], row[-1])).shuffle(SHUFFLE_BUFFER).batch(BATCH_SIZE)
    model, dataset = new_model(), dataset.prefetch(tf.data.AUTOTUNE)
    return lambda clock, epochs: model.fit(dataset, epochs=epochs, callbacks=[clock], verbose=0)


def epoch_section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    paths = source.write_files(root / "train", sizes.train_files, sizes.train_rows_per_file)
    seed_paths = source.write_files(root / "seed", sizes.seed_train_files, sizes.seed_train_rows_per_file)
    total = len(paths) * sizes.train_rows_per_file
    small = len(seed_paths) * sizes.seed_train_rows_per_file
    big, little = f"{total:,} rows", f"{small:,} rows"
    baseline = f"baseline: model.fit in memory, {big}"
    small_baseline = f"small baseline: model.fit in memory, {little}"
    csv_reread = f"CsvDataset re-read every epoch, one fit per epoch, {big}"
    trainers = {
        baseline: fit_in_memory(source.rows[:total]),
        f"ours: GrowingDatasetTrainer.fit, {big}": fit_ours(str(root / "train"), total),
        csv_reread: fit_csv_each_epoch(paths),
    }
    if pd is not None:
        pandas_reread = f"pandas.read_csv re-read + from_tensor_slices every epoch, {big}"
        trainers[pandas_reread] = fit_pandas_each_epoch(paths)
    references = {name: baseline for name in trainers}
    trainers[small_baseline] = fit_in_memory(source.rows[:small])
    trainers[f"seed recipe: concatenate chain + py_function per line, {little}"] = fit_seed_chain(seed_paths)
    references.update({name: small_baseline for name in trainers if name not in references})
    measures = {name: epoch_measure(train, sizes.epochs_per_round) for name, train in trainers.items()}
    # Re-reading with CsvDataset is the slowest by far and steady from its second epoch on.
    rounds = interleave(measures, sizes.rounds, caps={csv_reread: min(2, sizes.rounds)})
    times = {name: steady_times(samples) for name, samples in rounds.items()}
    return epoch_rows(times, references, pandas_missing=pd is None)


def epoch_measure(train: Trainer, epochs: int) -> Callable[[], EpochTimes]:
    return lambda: time_epochs(lambda clock: train(clock, epochs))


def steady_times(rounds: list[EpochTimes]) -> EpochTimes:
    """The epochs of all rounds but the first epoch (warm-up: tracing, first read)."""
    return EpochTimes(
        *([t for r in rounds for t in getattr(r, kind)][1:] for kind in ("train", "wall", "cpu"))
    )


def epoch_rows(times: dict[str, EpochTimes], references: dict[str, str], pandas_missing: bool) -> list[Row]:
    """Training-time rows, then CPU-time and wall-time rows, each against its same-size baseline."""
    rows = []
    units = {"train": "s/epoch, training", "cpu": "CPU s/epoch, training", "wall": "s/epoch, wall"}
    for kind, unit in units.items():
        for name in times:
            samples = getattr(times[name], kind)
            value, reference = median(samples), median(getattr(times[references[name]], kind))
            spread = f"; {len(samples)} epochs, {number(min(samples))}-{number(max(samples))}"
            note = epoch_note(name, kind) + spread
            rows.append(Row("2 epoch", name, value, unit, ratio(value, reference), note))
    if pandas_missing:
        rows.append(Row("2 epoch", "pandas.read_csv re-read", None, "s/epoch", "", "skipped: no pandas"))
    return rows


def epoch_note(name: str, kind: str) -> str:
    if kind in ("train", "cpu") and name.startswith("CsvDataset"):
        return "on_epoch_begin to on_epoch_end; 2 rounds only (slowest), so 1 steady epoch"
    if kind == "cpu":
        return "CPU time of all threads, on_epoch_begin to on_epoch_end: robust to a noisy host"
    if kind == "train":
        return "on_epoch_begin to on_epoch_end, median of the steady epochs"
    if name.startswith("ours"):
        return "poll + epoch dataset + one model.fit call per epoch included"
    if name.startswith("pandas"):
        return "includes the re-read of every file"
    return (
        "fit call included; shuffle(10,000).batch(256).prefetch" if "memory" in name else "fit call included"
    )


# 3. Boundary stall -----------------------------------------------------------------------------


class ArrivalClock(EpochClock):
    """An `EpochClock` that runs `land()` at the first batch of epoch `land_epoch`.

    The epoch after it stops after one batch: only its beginning is of interest.
    """

    def __init__(self, land: Callable[[], object], land_epoch: int):
        super().__init__()
        self.land = land
        self.land_epoch = land_epoch
        self.epoch = -1

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self.epoch = epoch
        self.model.stop_training = epoch > self.land_epoch

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0 and self.epoch == self.land_epoch:
            self.land()


STALL = "3 boundary stall"


def supports_poll_interval() -> bool:
    return "poll_interval" in inspect.signature(kgd.GrowingDataCallback).parameters


@dataclasses.dataclass
class StallSample:
    quiet: float  # Gap after an epoch in which nothing arrived.
    stall: float  # Gap after the epoch in which the file landed.
    landing_epoch: float  # Training time of that epoch: background polls have this long to ingest.
    joined: bool  # Whether the next epoch trained on the new rows.


def stall_measure(source: CsvSource, sizes: Sizes, folder: Path, **options) -> Callable[[], StallSample]:
    """A measure: a `fit` of ours for 3 epochs (the last cut short), a file landing early in epoch 1."""
    base = sizes.stall_base_files * sizes.train_rows_per_file
    source.write_files(folder, sizes.stall_base_files, sizes.train_rows_per_file)
    data = kgd.GrowingDataCallback(
        str(folder), label=LABEL, batch_size=BATCH_SIZE, settle_seconds=0, **options
    )
    trainer = kgd.GrowingDatasetTrainer(new_model(), data)
    landed = []

    def land() -> None:
        start = base + len(landed) * sizes.stall_landing_rows
        path = folder / f"landed-{len(landed):03d}.csv"
        landed.append(source.write(path, start, start + sizes.stall_landing_rows))

    def measure() -> StallSample:
        clock = ArrivalClock(land, land_epoch=1)
        rows = trainer.fit(epochs=3, callbacks=[clock], verbose=0).history["rows"]
        gaps = [b - e for e, b in zip(clock.ends, clock.begins[1:], strict=False)]
        landing_epoch = clock.ends[1] - clock.begins[1]
        return StallSample(gaps[0], gaps[1], landing_epoch, rows[2] - rows[1] == sizes.stall_landing_rows)

    return measure


def stall_section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    variants = {
        "ours, poll_interval=None": {"poll_interval": None},
        "ours, poll_interval=0.05": {"poll_interval": 0.05},
    }
    if not supports_poll_interval():
        variants = {"ours (polls at the boundary; no poll_interval)": {}}
    measures = {
        name: stall_measure(source, sizes, root / f"stall-{i}", **options)
        for i, (name, options) in enumerate(variants.items())
    }
    samples = interleave(measures, sizes.stall_reps)
    reference = median([s.quiet for s in next(iter(samples.values()))])
    rows = []
    for name, runs in samples.items():
        quiet, stall = median([s.quiet for s in runs]), median([s.stall for s in runs])
        joined = f"it joined the next epoch {sum(s.joined for s in runs)}/{len(runs)} times"
        stalls = [s.stall for s in runs]
        spread = f"; {len(runs)} runs, {number(min(stalls))}-{number(max(stalls))} s"
        epoch = median([s.landing_epoch for s in runs])
        landed = (
            f"a {sizes.stall_landing_rows:,}-row file landed at batch 0 of a {epoch:.2g} s epoch; {joined}"
            + spread
        )
        rows += [
            Row(
                STALL,
                f"{name}: nothing landed",
                quiet,
                "s",
                ratio(quiet, reference),
                "on_epoch_end to on_epoch_begin",
            ),
            Row(STALL, f"{name}: a file landed", stall, "s", ratio(stall, reference), landed),
        ]
    if not supports_poll_interval():
        rows.append(Row(STALL, "ours, poll_interval=0.05", None, "s", "", "n/a (no poll_interval)"))
    return rows


# 4. Per-epoch cost after many arrivals ---------------------------------------------------------


@dataclasses.dataclass
class Arrivals:
    """The state after files arrived one at a time: ours, the chain, and poll times."""

    data: kgd.GrowingDataCallback
    chain: tf.data.Dataset
    poll_seconds: list[float]


def arrive_one_at_a_time(source: CsvSource, sizes: Sizes, folder: Path) -> Arrivals:
    folder.mkdir()
    data = kgd.GrowingDataCallback(str(folder), label=LABEL, batch_size=PASS_BATCH, settle_seconds=0)
    chain, poll_seconds = None, []
    for i in range(sizes.arrivals):
        start, stop = i * sizes.arrival_rows, (i + 1) * sizes.arrival_rows
        source.write(folder / f"part-{i:05d}.csv", start, stop)
        poll_seconds.append(timed(data.poll))
        piece = tf.data.Dataset.from_tensor_slices(split_label(source.rows[start:stop]))
        chain = piece if chain is None else chain.concatenate(piece)
    check_rows(data.num_rows, sizes.arrivals * sizes.arrival_rows, "ours after arrivals")
    return Arrivals(data, chain, poll_seconds)


def polled_dataset(data: kgd.GrowingDataCallback) -> tf.data.Dataset:
    """What an epoch boundary does with nothing new: a poll, then the (cached) dataset."""
    data.poll()
    return data.dataset


def pass_measure(dataset: Callable[[], tf.data.Dataset], expected: int, what: str) -> Callable[[], float]:
    """A measure: seconds to get `dataset()` and iterate it to the end in a `tf.function`."""

    def measure() -> float:
        start = time.perf_counter()
        rows = int(count_rows_in_graph(dataset()))
        seconds = time.perf_counter() - start
        check_rows(rows, expected, what)
        return seconds

    return measure


def arrivals_section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    arrivals = arrive_one_at_a_time(source, sizes, root / "arrivals")
    total = sizes.arrivals * sizes.arrival_rows
    flat = tf.data.Dataset.from_tensor_slices(split_label(source.rows[:total])).batch(PASS_BATCH)
    count_rows_in_graph(flat)  # Warm-up passes (and the one trace).
    count_rows_in_graph(arrivals.data.dataset)
    n = f"{sizes.arrivals:,}"
    chain = f"recipe: ds = ds.concatenate(new) x {n}, .batch(64)"
    datasets = {
        f"flat: from_tensor_slices({total:,} rows).batch(64)": lambda: flat,
        "ours: one pass over data.dataset": lambda: arrivals.data.dataset,
        POLL_AND_PASS: lambda: polled_dataset(arrivals.data),
        chain: lambda: arrivals.chain.batch(PASS_BATCH),
    }
    measures = {name: pass_measure(make, total, name) for name, make in datasets.items()}
    samples = interleave(measures, sizes.pass_reps, caps={chain: 1})
    seconds = {name: median(values) for name, values in samples.items()}
    flat_seconds = seconds[next(iter(seconds))]
    section = f"4 after {n} arrivals"
    rows = [
        Row(section, name, s, "s/pass", ratio(s, flat_seconds), pass_note(name))
        for name, s in seconds.items()
    ]
    return rows + poll_rows(section, arrivals.poll_seconds)


def pass_note(name: str) -> str:
    if name == POLL_AND_PASS:
        return (
            "an epoch's whole cost: the boundary poll (lists the folder, stats new files and "
            "64 accepted ones), then the pass"
        )
    if name.startswith("ours"):
        return (
            "shuffled batches of (x, y), data.dataset taken anew per pass as each epoch does; "
            "passes iterate in a tf.function, as model.fit does; target <= 1.1x"
        )
    if name.startswith("recipe"):
        return "one from_tensor_slices per file; a single pass (too slow to repeat), no warm-up"
    return "unshuffled batches of (x, y), built once"


def poll_rows(section: str, poll_seconds: list[float]) -> list[Row]:
    k = min(10, len(poll_seconds))
    first, last = median(poll_seconds[:k]) * 1e3, median(poll_seconds[-k:]) * 1e3
    return [
        Row(
            section, f"ours: poll() per arrival, first {k} files", first, "ms", "1x", "write one file, poll()"
        ),
        Row(
            section,
            f"ours: poll() per arrival, last {k} files",
            last,
            "ms",
            ratio(last, first),
            "each poll lists the folder and stats new files and 64 accepted ones; "
            "this one also reads the new file",
        ),
    ]


# 5. Memory -------------------------------------------------------------------------------------

MEMORY_PROBE = """
import json, sys
import keras_growing_data as kgd

def status(key):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(key + ":"))

def ingest(folder):
    data = kgd.GrowingDataCallback(folder, label=sys.argv[3], batch_size=4096, settle_seconds=0)
    data.poll()
    return data

def one_pass(data):
    for _ in data.dataset:
        pass

one_pass(ingest(sys.argv[1]))  # Warm-up: TF's first ops, tracing, thread pools.
with open("/proc/self/clear_refs", "w") as clear_refs:
    clear_refs.write("5")  # Resets VmHWM, the peak resident memory, to VmRSS.
before = status("VmRSS")
data = ingest(sys.argv[2])
polled = status("VmRSS")
one_pass(data)
passed = status("VmRSS")
print(json.dumps(dict(rows=data.num_rows, columns=len(data.columns), before=before,
                      polled=polled, passed=passed, peak=status("VmHWM"))))
"""


def memory_probe(warm_folder: str, folder: str) -> dict[str, int]:
    """Runs MEMORY_PROBE in a fresh Python; its measurements in bytes."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, warm_folder, folder, LABEL],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory_section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    source.write_files(root / "warm", 1, 1000)
    probe = memory_probe(str(root / "warm"), str(root / "train"))
    raw = probe["rows"] * probe["columns"] * 4
    held = f"{probe['rows']:,} rows x {probe['columns']} columns"
    versus = f"raw float32 {raw / 1e6:.1f} MB"
    stages = {
        f"ours: RSS growth after poll(), {held}": (
            "polled",
            "fresh process, after a warm-up poll; target <= 1.3x",
        ),
        "ours: RSS growth after one pass over data.dataset": ("passed", "every batch iterated once"),
        "ours: peak RSS growth (VmHWM)": ("peak", "highest resident memory during the poll and the pass"),
    }
    return [
        Row(
            "5 memory",
            name,
            (probe[key] - probe["before"]) / 1e6,
            "MB",
            f"{ratio(probe[key] - probe['before'], raw)} {versus}",
            note,
        )
        for name, (key, note) in stages.items()
    ]


# Report ----------------------------------------------------------------------------------------


def render_table(rows: list[Row]) -> str:
    lines = [
        "| section | alternative | value | unit | vs baseline | note |",
        "|---|---|--:|---|---|---|",
    ]
    for row in rows:
        value = "n/a" if row.value is None else number(row.value)
        cells = [row.section, row.alternative, value, row.unit, row.versus, row.note]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.machine()


def memory_gib() -> str:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return "unknown"
    kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
    return f"{kib / 2**20:.1f}"


def machine() -> str:
    gpus = len(tf.config.list_physical_devices("GPU"))
    versions = f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}"
    versions += f", NumPy {np.__version__}" + (f", pandas {pd.__version__}" if pd is not None else "")
    return (
        f"{os.cpu_count()} CPU cores ({cpu_name()}), {memory_gib()} GiB RAM, {gpus or 'no'} GPU; {versions}"
    )


def command_line(argv: list[str]) -> str:
    script = "-m benchmarks" if Path(sys.argv[0]).name == "__main__.py" else "benchmarks/run.py"
    return " ".join(["python", script, *argv])


def report(rows: list[Row], argv: list[str], sizes: Sizes, load: float) -> str:
    mode = "smoke sizes (timings mean nothing)" if sizes is SMOKE else "full sizes"
    elapsed = time.perf_counter() - START
    return (
        f"Machine: {machine()}. Command: `{command_line(argv)}`.\n"
        f"{mode}; medians of {sizes.reps} alternating repetitions (section 2: {sizes.rounds} rounds of "
        f"{sizes.epochs_per_round} epoch(s), first epoch dropped; section 3: {sizes.stall_reps}; "
        f"section 4 passes: {sizes.pass_reps}); "
        f"{elapsed:.0f} s in all; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."
        f"\n\n{render_table(rows)}\n"
    )


def storage_section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    source.write_files(root / "storage", sizes.train_files, sizes.train_rows_per_file)
    total = sizes.train_files * sizes.train_rows_per_file
    datasets = {}
    for storage in ("memory", "disk"):
        data = kgd.GrowingDataCallback(
            str(root / "storage"),
            label=LABEL,
            batch_size=BATCH_SIZE,
            settle_seconds=0,
            storage=storage,
            storage_dir=str(root / "rows"),
        )
        data.poll()
        count_rows_in_graph(data.dataset)  # Warm-up pass.
        datasets[f'ours, storage="{storage}": one pass, {total:,} rows'] = data
    measures = {name: pass_measure(lambda d=data: d.dataset, total, name) for name, data in datasets.items()}
    seconds = {name: median(values) for name, values in interleave(measures, sizes.pass_reps).items()}
    memory_seconds = seconds[next(iter(seconds))]
    note = f"batches of {BATCH_SIZE}, shuffled; rows in the page cache (the file fits in memory here)"
    return [
        Row("6 storage", name, value, "s/pass", ratio(value, memory_seconds), note)
        for name, value in seconds.items()
    ]


def command_line_section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """Seconds a fresh process takes to print the command line's help, against importing TensorFlow."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    commands = {
        "keras-growing-data --help (a fresh process)": [sys.executable, "-m", "keras_growing_data", "--help"],
        "python -c 'import tensorflow'": [sys.executable, "-c", "import tensorflow"],
    }

    def run(command: list[str]) -> Callable[[], float]:
        return lambda: timed(lambda: subprocess.run(command, env=env, capture_output=True, check=True))

    measures = {name: run(command) for name, command in commands.items()}
    seconds = {name: median(values) for name, values in interleave(measures, sizes.reps).items()}
    baseline = seconds["python -c 'import tensorflow'"]
    note = "help, --version and wrong options import no TensorFlow"
    return [
        Row("7 command line", name, value, "s", ratio(value, baseline), note)
        for name, value in seconds.items()
    ]


SECTIONS = (
    ingest_section,
    epoch_section,
    stall_section,
    arrivals_section,
    memory_section,
    storage_section,
    command_line_section,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repetition (for CI)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    load = os.getloadavg()[0]
    keras.utils.set_random_seed(0)
    # Keras warns that `shuffle` is ignored for datasets, and when a dataset of unknown length ends.
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    rows = []
    with tempfile.TemporaryDirectory(prefix="kgd-bench-") as folder:
        log(f"writing {sizes.source_rows():,} rows of CSV text")
        source = CsvSource(sizes.source_rows())
        for section in SECTIONS:
            # Exempts the objects made so far (TF, Keras, earlier sections) from garbage
            # collection: a full collection over them takes 0.3-1 s on 2 cores and, landing at
            # random, swamps short timings (it once made a quiet epoch boundary last 1.08 s).
            gc.collect()
            gc.freeze()
            log(section.__name__)
            rows += section(source, sizes, Path(folder))
    text = report(rows, argv, sizes, load)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
