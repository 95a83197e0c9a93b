"""Section 2: steady epoch time of a small model on rows in many files, ours against the usual ways.

`model.fit` on the rows already in memory is the reference; ours adds a poll, the epoch's dataset
and a `fit` call per epoch; the other ways to follow a growing folder re-read it every epoch. The
training time (from `on_epoch_begin` to `on_epoch_end`), its CPU time, and the wall time per epoch
(data preparation and `fit` call included) are all reported.
"""

import dataclasses
import itertools
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

import keras_growing_data as kgd
from benchmarks.fixtures import (
    BATCH_SIZE,
    COLUMNS,
    LABEL,
    SHUFFLE_BUFFER,
    CsvSource,
    EpochClock,
    in_memory_dataset,
    new_model,
    pd,
    seed_recipe_rows,
)
from benchmarks.harness import (
    Alternative,
    Row,
    Sizes,
    baseline,
    check_rows,
    interleave,
    median,
    number,
    ratio,
)

TITLE = "2 epoch"
UNITS = {"train": "s/epoch, training", "cpu": "CPU s/epoch, training", "wall": "s/epoch, wall"}
CSV_ROUNDS = 2  # Re-reading with CsvDataset is the slowest by far and steady from its second epoch on.

Trainer = Callable[[EpochClock, int], object]


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


def epoch_measure(train: Trainer, epochs: int) -> Callable[[], EpochTimes]:
    return lambda: time_epochs(lambda clock: train(clock, epochs))


def steady_times(rounds: list[EpochTimes]) -> EpochTimes:
    """The epochs of all rounds but the first epoch (warm-up: tracing, first read)."""
    return EpochTimes(
        *([t for r in rounds for t in getattr(r, kind)][1:] for kind in ("train", "wall", "cpu"))
    )


def training_note(alternative: Alternative[EpochTimes], kind: str) -> str:
    """The note of a training or CPU time row; `alternative.note` is that of its wall time row."""
    if alternative.cap is not None:
        return f"on_epoch_begin to on_epoch_end; {alternative.cap} rounds only (slowest), so 1 steady epoch"
    if kind == "cpu":
        return "CPU time of all threads, on_epoch_begin to on_epoch_end: robust to a noisy host"
    return "on_epoch_begin to on_epoch_end, median of the steady epochs"


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """Training-time rows, then CPU-time and wall-time rows, each against its same-size baseline."""
    paths = source.write_files(root / "train", sizes.train_files, sizes.train_rows_per_file)
    seed_paths = source.write_files(root / "seed", sizes.seed_train_files, sizes.seed_train_rows_per_file)
    total = len(paths) * sizes.train_rows_per_file
    small = len(seed_paths) * sizes.seed_train_rows_per_file
    big, little = f"{total:,} rows", f"{small:,} rows"
    in_memory = f"fit call included; shuffle({SHUFFLE_BUFFER:,}).batch({BATCH_SIZE}).prefetch"

    def training(
        name: str, train: Trainer, note: str, is_baseline: bool = False, cap: int | None = None
    ) -> Alternative[EpochTimes]:
        return Alternative(name, epoch_measure(train, sizes.epochs_per_round), note, is_baseline, cap)

    large_group = [
        training(
            f"baseline: model.fit in memory, {big}",
            fit_in_memory(source.rows[:total]),
            in_memory,
            is_baseline=True,
        ),
        training(
            f"ours: GrowingDatasetTrainer.fit, {big}",
            fit_ours(str(root / "train"), total),
            "poll + epoch dataset + one model.fit call per epoch included",
        ),
        training(
            f"CsvDataset re-read every epoch, one fit per epoch, {big}",
            fit_csv_each_epoch(paths),
            "fit call included",
            cap=CSV_ROUNDS,
        ),
    ]
    if pd is not None:
        large_group.append(
            training(
                f"pandas.read_csv re-read + from_tensor_slices every epoch, {big}",
                fit_pandas_each_epoch(paths),
                "includes the re-read of every file",
            )
        )
    small_group = [
        training(
            f"small baseline: model.fit in memory, {little}",
            fit_in_memory(source.rows[:small]),
            in_memory,
            is_baseline=True,
        ),
        training(
            f"seed recipe: concatenate chain + py_function per line, {little}",
            fit_seed_chain(seed_paths),
            "fit call included",
        ),
    ]
    references = {
        alternative: baseline(group) for group in (large_group, small_group) for alternative in group
    }
    rounds = interleave([*large_group, *small_group], sizes.rounds)
    times = {alternative: steady_times(samples) for alternative, samples in rounds.items()}
    rows = []
    for kind, unit in UNITS.items():
        for alternative, epoch_times in times.items():
            samples = getattr(epoch_times, kind)
            value, reference = median(samples), median(getattr(times[references[alternative]], kind))
            spread = f"; {len(samples)} epochs, {number(min(samples))}-{number(max(samples))}"
            note = (alternative.note if kind == "wall" else training_note(alternative, kind)) + spread
            rows.append(Row(TITLE, alternative.name, value, unit, ratio(value, reference), note))
    if pd is None:
        rows.append(Row(TITLE, "pandas.read_csv re-read", None, "s/epoch", "", "skipped: no pandas"))
    return rows
