"""Section 1: rows/s from CSV files to float32 tensors, the usual ways and ours.

The ways TensorFlow users read CSV (per line through `py_function` or `decode_csv`, `CsvDataset`,
batches of lines, whole files), pandas, and `GrowingDataCallback.poll()`. Every new file pays this
before it trains.
"""

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

import keras_growing_data as kgd
from benchmarks.fixtures import COLUMNS, LABEL, RECORD_DEFAULTS, CsvSource, pd, seed_recipe_rows
from benchmarks.harness import Alternative, Row, Sizes, baseline, check_rows, medians, ratio

TITLE = "1 ingest"
READ_BATCH = 4096
LINE_BATCH = 16_384


def count_rows(dataset: tf.data.Dataset) -> int:
    """Iterates a dataset to its end; the rows in its batches (first component)."""
    return sum(int(tf.nest.flatten(element)[0].shape[0]) for element in dataset)


def decode_lines(lines: tf.Tensor) -> tuple[tf.Tensor, ...]:
    return tuple(tf.io.decode_csv(lines, RECORD_DEFAULTS))


def decode_whole_file(path: tf.Tensor) -> tuple[tf.Tensor, ...]:
    lines = tf.strings.split(tf.strings.strip(tf.io.read_file(path)), "\n")[1:]
    return decode_lines(lines)


def read_seed_recipe(paths: list[str], limit: int) -> int:
    return count_rows(seed_recipe_rows(paths[0]).take(limit).batch(READ_BATCH))


def read_decode_per_line(paths: list[str], limit: int) -> int:
    lines = tf.data.TextLineDataset(paths[0]).skip(1).take(limit)
    rows = lines.map(decode_lines, num_parallel_calls=tf.data.AUTOTUNE)
    return count_rows(rows.batch(READ_BATCH).prefetch(tf.data.AUTOTUNE))


def read_csv_dataset(paths: list[str]) -> int:
    dataset = tf.data.experimental.CsvDataset(paths, [tf.float32] * COLUMNS, header=True)
    return count_rows(dataset.batch(READ_BATCH).prefetch(tf.data.AUTOTUNE))


def read_line_batches(paths: list[str]) -> int:
    files = tf.data.Dataset.from_tensor_slices(paths)
    batches = files.interleave(
        lambda path: tf.data.TextLineDataset(path).skip(1).batch(LINE_BATCH),
        cycle_length=2,
        num_parallel_calls=2,
    )
    return count_rows(batches.map(decode_lines, num_parallel_calls=2).prefetch(tf.data.AUTOTUNE))


def read_whole_files(paths: list[str]) -> int:
    files = tf.data.Dataset.from_tensor_slices(paths)
    return count_rows(files.map(decode_whole_file, num_parallel_calls=2).prefetch(tf.data.AUTOTUNE))


def read_pandas(paths: list[str]) -> int:
    return sum(len(pd.read_csv(path, dtype=np.float32, engine="c").to_numpy()) for path in paths)


def read_ours(folder: str, parser: str = "auto") -> int:
    data = kgd.GrowingDataCallback(folder, label=LABEL, settle_seconds=0, parser=parser)
    data.poll()
    return data.num_rows


def rate_measure(read: Callable[[], int], expected: int, what: str) -> Callable[[], float]:
    """A measure giving the M rows/s of `read()`, which must read `expected` rows."""

    def measure() -> float:
        start = time.perf_counter()
        rows = read()
        seconds = time.perf_counter() - start
        check_rows(rows, expected, what)
        return rows / seconds / 1e6

    return measure


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """Rates against `CsvDataset` (the baseline) and, where installed, pandas."""
    folder = root / "ingest"
    paths = source.write_files(folder, sizes.ingest_files, sizes.ingest_rows_per_file)
    total = len(paths) * sizes.ingest_rows_per_file
    seed_rows, line_rows = sizes.seed_ingest_rows, min(sizes.per_line_ingest_rows, total)
    every = f"all {total:,} rows in {len(paths)} files"
    ours = f"{every}; validated, stacked [rows, {COLUMNS}]"

    def reading(
        name: str, read: Callable[[], int], expected: int, note: str, is_baseline: bool = False
    ) -> Alternative[float]:
        return Alternative(name, rate_measure(read, expected, name), note, is_baseline)

    pandas = (
        reading("pandas.read_csv(dtype=float32), C engine", lambda: read_pandas(paths), total, every)
        if pd is not None
        else None
    )
    alternatives = [
        reading(
            "seed recipe: TextLineDataset, py_function per line",
            lambda: read_seed_recipe(paths, seed_rows),
            seed_rows,
            f"first {seed_rows:,} rows of one file only (too slow for all {total:,})",
        ),
        reading(
            "TextLineDataset, decode_csv per line (AUTOTUNE map), batch",
            lambda: read_decode_per_line(paths, line_rows),
            line_rows,
            f"first {line_rows:,} rows (one file)",
        ),
        reading(
            f"CsvDataset(paths, header=True).batch({READ_BATCH})",
            lambda: read_csv_dataset(paths),
            total,
            every,
            is_baseline=True,
        ),
        reading(
            "TextLineDataset batches of 16k lines + decode_csv, 2 files interleaved",
            lambda: read_line_batches(paths),
            total,
            every,
        ),
        reading(
            "read_file + strings.split + decode_csv, 2 files in parallel",
            lambda: read_whole_files(paths),
            total,
            every,
        ),
        *([pandas] if pandas is not None else []),
        reading(
            'ours, parser="tensorflow": fresh GrowingDataCallback(...).poll()',
            lambda: read_ours(str(folder), parser="tensorflow"),
            total,
            f"{ours}; decode_csv on chunks of lines, 2 threads",
        ),
    ]
    if pd is not None:
        alternatives.append(
            reading(
                "ours (default): fresh GrowingDataCallback(...).poll()",
                lambda: read_ours(str(folder)),
                total,
                f"{ours}; pandas' C parser on plain chunks, 2 threads",
            )
        )
    rates = medians(alternatives, sizes.reps)
    csv_rate = rates[baseline(alternatives)]
    rows = []
    for alternative, rate in rates.items():
        versus = f"{ratio(rate, csv_rate)} CsvDataset"
        if pandas is not None:
            versus += f", {ratio(rate, rates[pandas])} pandas"
        rows.append(Row(TITLE, alternative.name, rate, "M rows/s", versus, alternative.note))
    if pandas is None:
        rows.append(Row(TITLE, "pandas.read_csv", None, "M rows/s", "", "skipped: pandas not installed"))
    return rows
