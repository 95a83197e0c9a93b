"""`python -m benchmarks [--smoke] [--out FILE] [--sections N ...]`: runs the sections, prints the table."""

import argparse
import gc
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import keras

import benchmarks
from benchmarks import (
    arrivals,
    backends,
    big_file,
    command_line,
    epochs,
    ingest,
    json_lines,
    memory,
    parquet,
    producers,
    recent_data,
    soak,
    stall,
    storage,
    typed,
)
from benchmarks.fixtures import CsvSource
from benchmarks.harness import FULL, SMOKE, Row, Sizes, log, report

Section = Callable[[CsvSource, Sizes, Path], list[Row]]

SECTIONS: tuple[Section, ...] = (
    ingest.section,
    epochs.section,
    stall.section,
    arrivals.section,
    memory.section,
    storage.section,
    command_line.section,
    typed.section,
    soak.section,
    big_file.section,
    backends.section,
    producers.section,
    recent_data.section,
    json_lines.section,
    parquet.section,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=benchmarks.__doc__.splitlines()[0]
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repetition (for CI)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--sections",
        type=int,
        nargs="+",
        choices=range(1, len(SECTIONS) + 1),
        metavar="N",
        help="run only these sections (by number; default: all)",
    )
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
        for number, section in enumerate(SECTIONS, 1):
            if args.sections and number not in args.sections:
                continue
            # Exempts the objects made so far (TF, Keras, earlier sections) from garbage
            # collection: a full collection over them takes 0.3-1 s on 2 cores and, landing at
            # random, swamps short timings (it once made a quiet epoch boundary last 1.08 s).
            gc.collect()
            gc.freeze()
            log(section.__module__)
            rows += section(source, sizes, Path(folder))
    text = report(rows, argv, sizes, load)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
