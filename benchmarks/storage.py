"""Section 6: a pass over the accepted rows kept in memory (the default) and in a memory-mapped file.

`storage="disk"` is for data larger than memory; the pass iterates in a `tf.function`, as
`model.fit` does.
"""

from pathlib import Path

import keras_growing_data as kgd
from benchmarks.fixtures import BATCH_SIZE, LABEL, CsvSource
from benchmarks.harness import (
    Row,
    Sizes,
    count_rows_in_graph,
    medians,
    pass_alternative,
    rows_against_baseline,
)


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """Seconds per pass of each storage against "memory"."""
    source.write_files(root / "storage", sizes.train_files, sizes.train_rows_per_file)
    total = sizes.train_files * sizes.train_rows_per_file
    note = f"batches of {BATCH_SIZE}, shuffled; rows in the page cache (the file fits in memory here)"
    alternatives = []
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
        name = f'ours, storage="{storage}": one pass, {total:,} rows'
        alternatives.append(
            pass_alternative(name, lambda d=data: d.dataset, total, note, is_baseline=storage == "memory")
        )
    return rows_against_baseline("6 storage", medians(alternatives, sizes.pass_reps), "s/pass")
