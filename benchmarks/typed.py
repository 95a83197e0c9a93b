"""Section 8: typed columns: a mixed table of 8 numeric and 3 string columns, ingested, held and trained on.

Ingest is timed against `pandas.read_csv` on the same files (its default types: the strings become
Python objects); memory is a fresh process's resident growth against the raw size at 4 bytes a
value; the epoch is a model over dict features (string columns as ids into embeddings), through
`GrowingDatasetTrainer`, against `model.fit` on the same columns in memory.
"""

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import keras_growing_data as kgd
from benchmarks.epochs import epoch_measure, steady_times
from benchmarks.fixtures import BATCH_SIZE, SHUFFLE_BUFFER, pd
from benchmarks.harness import (
    Alternative,
    Row,
    Sizes,
    check_rows,
    interleave,
    median,
    medians,
    number,
    ratio,
    timed,
)
from benchmarks.memory import REPO_ROOT

TITLE = "8 typed columns"
NUMBERS = [f"n{i}" for i in range(7)]
STRINGS = {"city": 5, "product": 50, "store": 500}  # Distinct values of each string column.
LABEL = "y"
HEADER = [*NUMBERS, *STRINGS, LABEL]


class MixedSource:
    """Synthetic rows of 7 float features, 3 low-cardinality string features and a float label."""

    def __init__(self, num_rows: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.numbers = rng.normal(size=(num_rows, len(NUMBERS))).astype(np.float32)
        self.codes = {name: rng.integers(0, n, num_rows) for name, n in STRINGS.items()}
        self.y = (self.numbers.sum(axis=1) + self.codes["city"]).astype(np.float32)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        names = {name: [f"{name} {i}" for i in range(n)] for name, n in STRINGS.items()}
        for i in range(num_rows):
            strings = [names[name][self.codes[name][i]] for name in STRINGS]
            writer.writerow([*(f"{v:.7g}" for v in self.numbers[i]), *strings, f"{self.y[i]:.7g}"])
        self.lines = buffer.getvalue().encode().splitlines(keepends=True)

    def write_files(self, folder: Path, files: int, rows_per_file: int) -> list[str]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i in range(files):
            path = folder / f"part-{i:05d}.csv"
            path.write_bytes(
                (",".join(HEADER) + "\n").encode()
                + b"".join(self.lines[i * rows_per_file : (i + 1) * rows_per_file])
            )
            past = time.time() - 60
            os.utime(path, (past, past))
            paths.append(str(path))
        return paths


def ingest_ours(folder: Path, parser: str, expected: int):
    def run() -> None:
        data = kgd.GrowingDataCallback(
            folder, label=LABEL, settle_seconds=0, parser=parser, strings_as="index"
        )
        data.poll()
        check_rows(data.num_rows, expected, f"ours ({parser})")

    return run


def ingest_pandas(paths: list[str], expected: int):
    def run() -> None:
        rows = sum(len(pd.read_csv(path, engine="c")) for path in paths)
        check_rows(rows, expected, "pandas")

    return run


def dict_model(vocabulary_sizes: dict[str, int]) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = {name: keras.Input((), name=name) for name in NUMBERS}
    inputs |= {name: keras.Input((), name=name, dtype="int64") for name in STRINGS}
    numbers = keras.ops.stack([inputs[name] for name in NUMBERS], axis=1)
    embedded = [keras.layers.Embedding(2 * vocabulary_sizes[name], 4)(inputs[name]) for name in STRINGS]
    hidden = keras.layers.Dense(64, activation="relu")(keras.layers.Concatenate()([numbers, *embedded]))
    model = keras.Model(inputs, keras.ops.squeeze(keras.layers.Dense(1)(hidden), 1))
    model.compile("adam", "mse")
    return model


def fit_ours_dict(folder: Path, expected: int):
    data = kgd.GrowingDataCallback(
        folder, label=LABEL, batch_size=BATCH_SIZE, settle_seconds=0, strings_as="index"
    )
    data.poll()
    trainer = kgd.GrowingDatasetTrainer(dict_model({n: len(data.vocabulary(n)) for n in STRINGS}), data)

    def train(clock, epochs: int) -> None:
        history = trainer.fit(epochs=epochs, callbacks=[clock], verbose=0)
        check_rows(history.history["rows"][-1], expected, "ours")

    return train


def fit_in_memory_dict(source: MixedSource, rows: int):
    # The same ids ours serves: a string's id is 1 + its index in order first seen.
    ids = {}
    for name in STRINGS:
        _, first = np.unique(source.codes[name][:rows], return_index=True)
        order = np.argsort(first)
        remap = np.zeros(STRINGS[name], np.int64)
        remap[np.unique(source.codes[name][:rows])[order]] = np.arange(1, len(order) + 1)
        ids[name] = remap[source.codes[name][:rows]]
    x = {name: source.numbers[:rows, i] for i, name in enumerate(NUMBERS)} | ids
    dataset = tf.data.Dataset.from_tensor_slices((x, source.y[:rows]))
    dataset = dataset.shuffle(SHUFFLE_BUFFER).batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)
    model = dict_model({name: STRINGS[name] + 1 for name in STRINGS})
    return lambda clock, epochs: model.fit(dataset, epochs=epochs, callbacks=[clock], verbose=0)


def probe_memory(warm: Path, folder: Path) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory_probe", str(warm), str(folder), LABEL],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def section(_, sizes: Sizes, root: Path) -> list[Row]:
    """Ingest against pandas, memory against the raw size, a dict-feature epoch against model.fit."""
    files, per_file = sizes.ingest_files, sizes.ingest_rows_per_file
    total = files * per_file
    source = MixedSource(total)
    paths = source.write_files(root / "mixed", files, per_file)
    source.write_files(root / "mixed-warm", 1, min(per_file, 1000))
    held = f"{files} files x {per_file:,} rows (7 floats, 3 strings, a float label)"
    rows = []

    ingest = [
        Alternative(f"ours, parser=auto, {held}", lambda: timed(ingest_ours(root / "mixed", "auto", total))),
        Alternative(
            "ours, parser=tensorflow", lambda: timed(ingest_ours(root / "mixed", "tensorflow", total))
        ),
    ]
    if pd is not None:
        pandas = Alternative(
            "baseline: pandas.read_csv, default types", lambda: timed(ingest_pandas(paths, total))
        )
        ingest.insert(0, dataclasses.replace(pandas, baseline=True, note="its strings become Python objects"))
    times = medians(ingest, sizes.reps)
    reference = times[ingest[0]]
    for alternative, seconds in times.items():
        note = "; ".join(filter(None, [alternative.note, f"median of {sizes.reps}: {number(seconds)} s"]))
        rows.append(
            Row(TITLE, alternative.name, total / seconds / 1e6, "M rows/s", ratio(reference, seconds), note)
        )
    if pd is None:
        rows.append(Row(TITLE, "pandas.read_csv", None, "M rows/s", "", "skipped: no pandas"))

    figures = probe_memory(root / "mixed-warm", root / "mixed")
    raw = figures["rows"] * figures["columns"] * 4
    for name, key in (("ours: RSS growth after poll()", "polled"), ("ours: peak RSS growth (VmHWM)", "peak")):
        grown = figures[key] - figures["before"]
        versus = f"raw {raw / 1e6:.1f} MB: {figures['rows']:,} rows x {figures['columns']} values x 4 bytes"
        rows.append(
            Row(
                TITLE,
                name,
                grown / 1e6,
                "MB",
                f"{ratio(grown, raw)} {versus}",
                "strings dictionary-encoded; target <= 1.3x",
            )
        )

    epochs = [
        Alternative(
            "baseline: model.fit on the dict in memory",
            epoch_measure(fit_in_memory_dict(source, total), sizes.epochs_per_round),
            "",
            True,
        ),
        Alternative(
            "ours: GrowingDatasetTrainer.fit, dict features",
            epoch_measure(fit_ours_dict(root / "mixed", total), sizes.epochs_per_round),
            "",
        ),
    ]
    runs = {a: steady_times(samples) for a, samples in interleave(epochs, sizes.rounds).items()}
    for kind, unit in (("train", "s/epoch, training"), ("cpu", "CPU s/epoch, training")):
        reference = median(getattr(runs[epochs[0]], kind))
        for alternative, times_of in runs.items():
            samples = getattr(times_of, kind)
            spread = f"{len(samples)} epochs, {number(min(samples))}-{number(max(samples))}"
            target = "; target <= 1.10x" if alternative is epochs[1] else ""
            rows.append(
                Row(
                    TITLE,
                    alternative.name,
                    median(samples),
                    unit,
                    ratio(median(samples), reference),
                    spread + target,
                )
            )
    return rows
