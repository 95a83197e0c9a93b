"""Section 12: folders as producers write them: compressed files, and a backlog that does not block.

Ingest of the same files plain and compressed (gzip, bzip2, xz), by one fresh poll each; and the
time until training can start on a folder with a backlog of many small files, reading it all
first (no `poll_interval`) against reading in the background (`poll_interval`).
"""

import bz2
import gzip
import lzma
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import keras_growing_data as kgd
from benchmarks.fixtures import COLUMNS, LABEL, CsvSource
from benchmarks.harness import Alternative, Row, Sizes, check_rows, medians, rows_against_baseline

TITLE = "12 producers"
COMPRESSORS = {"gzip": (gzip.open, ".gz"), "bzip2": (bz2.open, ".bz2"), "xz": (lzma.open, ".xz")}


def compressed_copies(paths: list[str], folder: Path, kind: str) -> None:
    """Writes each file compressed with `kind` (its library's default level) into `folder`."""
    opener, suffix = COMPRESSORS[kind]
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        with open(path, "rb") as plain, opener(folder / (Path(path).name + suffix), "wb") as packed:
            shutil.copyfileobj(plain, packed)


def poll_rate(folder: Path, expected: int, what: str, declared: bool) -> Callable[[], float]:
    """A measure: M rows/s of one fresh poll of `folder`, which must accept `expected` rows.

    With `declared`, the columns are declared; else the schema is inferred from the first file,
    which reads that file twice (a type pass, then the read), so twice decompressed.
    """
    columns = {f"c{i}": "float32" for i in range(COLUMNS)} if declared else None

    def measure() -> float:
        start = time.perf_counter()
        data = kgd.GrowingDataCallback(str(folder), label=LABEL, settle_seconds=0, columns=columns)
        data.poll()
        seconds = time.perf_counter() - start
        check_rows(data.num_rows, expected, what)
        return data.num_rows / seconds / 1e6

    return measure


def seconds_to_first_rows(folder: Path, poll_interval: float | None) -> Callable[[], float]:
    """A measure: seconds until `wait_for_rows` returns on a fresh callback over `folder`."""

    def measure() -> float:
        start = time.perf_counter()
        data = kgd.GrowingDataCallback(
            str(folder), label=LABEL, settle_seconds=0, poll_interval=poll_interval
        )
        data.wait_for_rows()
        return time.perf_counter() - start

    return measure


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    plain = root / "producers-plain"
    paths = source.write_files(plain, sizes.ingest_files, sizes.ingest_rows_per_file)
    total = len(paths) * sizes.ingest_rows_per_file
    megabytes = sum(Path(path).stat().st_size for path in paths) / 1e6
    folders = {"plain": plain}
    for kind in COMPRESSORS:
        folders[kind] = root / f"producers-{kind}"
        compressed_copies(paths, folders[kind], kind)
    rows = []
    for declared in (True, False):
        schema = "columns declared" if declared else "schema inferred from the first file"
        alternatives = [
            Alternative(
                f"plain .csv, {schema}",
                poll_rate(plain, total, "plain", declared),
                f"{total:,} rows in {len(paths)} files, {megabytes:.0f} MB",
                True,
            )
        ]
        for kind, (_, suffix) in COMPRESSORS.items():
            packed = sum(path.stat().st_size for path in folders[kind].iterdir()) / 1e6
            note = f"same rows, {packed:.0f} MB; streamed through {kind} decompression"
            rate = poll_rate(folders[kind], total, kind, declared)
            alternatives.append(Alternative(f".csv{suffix}, {schema}", rate, note))
        rows += rows_against_baseline(TITLE, medians(alternatives, sizes.reps), "M rows/s")

    backlog = root / "producers-backlog"
    files = sizes.backlog_files
    source.write_files(backlog, files, sizes.arrival_rows)
    starts = [
        Alternative(
            "first rows, backlog read first (no poll_interval)",
            seconds_to_first_rows(backlog, None),
            f"{files:,} files of {sizes.arrival_rows} rows",
            True,
        ),
        Alternative(
            "first rows, backlog in the background (poll_interval=1)",
            seconds_to_first_rows(backlog, 1.0),
            "training starts after the first file",
        ),
    ]
    return rows + rows_against_baseline(TITLE, medians(starts, sizes.reps), "s")
