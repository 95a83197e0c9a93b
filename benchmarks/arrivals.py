"""Section 4: the cost of an epoch's pass after 1,000 small arrivals, and of each poll as files accumulate.

A pass over the data must not slow down with the number of files, as a `Dataset.concatenate`
chain does.
"""

import dataclasses
from pathlib import Path

import tensorflow as tf

import keras_growing_data as kgd
from benchmarks.fixtures import LABEL, CsvSource, split_label
from benchmarks.harness import (
    Row,
    Sizes,
    check_rows,
    count_rows_in_graph,
    median,
    medians,
    pass_alternative,
    ratio,
    rows_against_baseline,
    timed,
)

PASS_BATCH = 64


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


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """Seconds per pass against a flat dataset of the same rows, then the poll times."""
    arrivals = arrive_one_at_a_time(source, sizes, root / "arrivals")
    total = sizes.arrivals * sizes.arrival_rows
    flat = tf.data.Dataset.from_tensor_slices(split_label(source.rows[:total])).batch(PASS_BATCH)
    count_rows_in_graph(flat)  # Warm-up passes (and the one trace).
    count_rows_in_graph(arrivals.data.dataset)
    n = f"{sizes.arrivals:,}"
    ours = (
        "shuffled batches of (x, y), data.dataset taken anew per pass as each epoch does; "
        "passes iterate in a tf.function, as model.fit does; target <= 1.1x"
    )
    alternatives = [
        pass_alternative(
            f"flat: from_tensor_slices({total:,} rows).batch({PASS_BATCH})",
            lambda: flat,
            total,
            "unshuffled batches of (x, y), built once",
            is_baseline=True,
        ),
        pass_alternative("ours: one pass over data.dataset", lambda: arrivals.data.dataset, total, ours),
        pass_alternative(
            "ours: poll() (nothing new) + one pass over data.dataset",
            lambda: polled_dataset(arrivals.data),
            total,
            "an epoch's whole cost: the boundary poll (lists the folder, stats new files and "
            "64 accepted ones), then the pass",
        ),
        pass_alternative(
            f"recipe: ds = ds.concatenate(new) x {n}, .batch({PASS_BATCH})",
            lambda: arrivals.chain.batch(PASS_BATCH),
            total,
            "one from_tensor_slices per file; a single pass (too slow to repeat), no warm-up",
            cap=1,
        ),
    ]
    title = f"4 after {n} arrivals"
    rows = rows_against_baseline(title, medians(alternatives, sizes.pass_reps), "s/pass")
    return rows + poll_rows(title, arrivals.poll_seconds)


def poll_rows(title: str, poll_seconds: list[float]) -> list[Row]:
    """The median poll of the first and of the last 10 arrivals."""
    k = min(10, len(poll_seconds))
    first, last = median(poll_seconds[:k]) * 1e3, median(poll_seconds[-k:]) * 1e3
    return [
        Row(title, f"ours: poll() per arrival, first {k} files", first, "ms", "1x", "write one file, poll()"),
        Row(
            title,
            f"ours: poll() per arrival, last {k} files",
            last,
            "ms",
            ratio(last, first),
            "each poll lists the folder and stats new files and 64 accepted ones; "
            "this one also reads the new file",
        ),
    ]
