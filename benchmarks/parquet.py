"""Section 15: Parquet: rows/s against our CSV and against pyarrow + NumPy, and the memory it takes.

The 1,000,000 rows of section 1 (11 float32 columns) and of section 8 (7 floats, 3 strings and a
float label), each as CSV and as Parquet (pyarrow's defaults: snappy, dictionary pages, a row group
a file), in 10 files. Ours is one fresh poll of a folder, CSV or Parquet, and, to show what the
ingest adds, `ParquetFormat.read` of each file alone. The references read each file with
`pyarrow.parquet.read_table`, then make its columns NumPy arrays: `np.column_stack` of the numbers
(one float32 `[rows, columns]` array, what ours holds) and the strings' dictionary indices (read as
dictionaries), or, as most code does, `to_pandas()` then `to_numpy()` (strings as Python objects).
Every file's arrays are kept to the end, as ours keeps its rows. Memory is a fresh process's
resident growth (`parquet_probe`) against the rows at 4 bytes a value; the big file is section 1's
rows, repeated to at least section 10's size, in row groups of 2^20 rows, as pyarrow writes them.
"""

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import keras_growing_data as kgd
from benchmarks.fixtures import COLUMNS, LABEL, CsvSource
from benchmarks.harness import Alternative, Row, Sizes, check_rows, fresh_process, log, medians, number, ratio
from benchmarks.typed import LABEL as MIXED_LABEL
from benchmarks.typed import NUMBERS, STRINGS, MixedSource
from keras_growing_data.formats.parquet.parquet_format import ParquetFormat

TITLE = "15 Parquet"
# How the ratios of ours name the references.
SHORT = ("read_table + column_stack", "read_table + to_pandas")
# The rows of a big file's row group, as pyarrow writes them by default.
BIG_GROUP_ROWS = 1 << 20


def float_table(source: CsvSource, start: int, stop: int) -> pa.Table:
    return pa.table({f"c{i}": source.rows[start:stop, i] for i in range(COLUMNS)})


def mixed_table(source: MixedSource, start: int, stop: int) -> pa.Table:
    columns = {name: source.numbers[start:stop, i] for i, name in enumerate(NUMBERS)}
    for name in STRINGS:
        names = np.array([f"{name} {i}" for i in range(STRINGS[name])], object)
        columns[name] = pa.array(names[source.codes[name][start:stop]], pa.string())
    columns[MIXED_LABEL] = source.y[start:stop]
    return pa.table(columns)


def write_parquet_files(
    table: Callable[[int, int], pa.Table], folder: Path, files: int, per_file: int
) -> list[str]:
    """Writes `files` Parquet files of `per_file` rows (`table(start, stop)`), modified a minute ago."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(files):
        path = folder / f"part-{i:05d}.snappy.parquet"
        pq.write_table(table(i * per_file, (i + 1) * per_file), path)
        paths.append(str(path))
    past = time.time() - 60
    for path in paths:
        os.utime(path, (past, past))
    return paths


def poll_rate(folder: Path, label: str, expected: int, parquet: bool) -> Callable[[], float]:
    """A measure: M rows/s of one fresh poll of `folder`, which must accept `expected` rows."""

    def measure() -> float:
        start = time.perf_counter()
        data = kgd.GrowingDataCallback(str(folder), label=label, settle_seconds=0)
        data.poll()
        seconds = time.perf_counter() - start
        check_rows(data.num_rows, expected, f"ours ({'Parquet' if parquet else 'CSV'})")
        return expected / seconds / 1e6

    return measure


def format_rate(paths: list[str], label: str, expected: int) -> Callable[[], float]:
    """A measure: M rows/s of `ParquetFormat.read` of each file, every file's rows kept."""

    def measure() -> float:
        start = time.perf_counter()
        parquet_format = ParquetFormat(label)
        kept = [parquet_format.read(path) for path in paths]
        seconds = time.perf_counter() - start
        check_rows(sum(parsed.num_rows for parsed in kept), expected, "ParquetFormat.read")
        return expected / seconds / 1e6

    return measure


def stacked(table: pa.Table, strings: tuple[str, ...]) -> list[np.ndarray]:
    """What ours holds: the numbers as one float32 `[rows, columns]` array, each string column as indices."""
    numbers = np.column_stack([table[name].to_numpy() for name in table.column_names if name not in strings])
    return [numbers, *(table[name].combine_chunks().indices.to_numpy() for name in strings)]


def as_pandas(table: pa.Table, strings: tuple[str, ...]) -> list[np.ndarray]:
    """As most code gets NumPy from Parquet: through pandas, strings as Python objects."""
    frame = table.to_pandas()
    numbers = [name for name in table.column_names if name not in strings]
    return [frame[numbers].to_numpy(), *(frame[name].to_numpy() for name in strings)]


def pyarrow_rate(
    paths: list[str], expected: int, strings: tuple[str, ...], convert: Callable
) -> Callable[[], float]:
    """A measure: M rows/s of `read_table` on each file, then `convert(table, strings)`, every file's kept.

    `stacked` reads the string columns as dictionaries (`read_dictionary`), as ours does.
    """
    dictionaries = list(strings) if convert is stacked else None

    def measure() -> float:
        start = time.perf_counter()
        kept = [convert(pq.read_table(path, read_dictionary=dictionaries), strings) for path in paths]
        seconds = time.perf_counter() - start
        check_rows(sum(len(arrays[0]) for arrays in kept), expected, "pyarrow")
        return expected / seconds / 1e6

    return measure


def rates(
    what: str, csv_folder: Path, parquet_paths: list[str], label: str, strings: tuple[str, ...], sizes: Sizes
) -> list[Row]:
    """Rates of ours (CSV, Parquet) and of pyarrow + NumPy on the same rows, interleaved."""
    total = sizes.ingest_files * sizes.ingest_rows_per_file
    parquet_folder = Path(parquet_paths[0]).parent
    text = "strings as dictionary indices" if strings else ""
    ours_csv = Alternative(f"{what}: ours, CSV", poll_rate(csv_folder, label, total, parquet=False))
    ours = Alternative(f"{what}: ours, Parquet", poll_rate(parquet_folder, label, total, parquet=True))
    reads = Alternative(
        f"{what}: ParquetFormat.read alone",
        format_rate(parquet_paths, label, total),
        "ours less the ingest (listing, verdicts, store, vocabularies)",
    )
    references = [
        Alternative(
            f"{what}: pyarrow.parquet.read_table + np.column_stack" + (f", {text}" if text else ""),
            pyarrow_rate(parquet_paths, total, strings, stacked),
            "what ours holds: float32 [rows, columns]",
        ),
        Alternative(
            f"{what}: pyarrow.parquet.read_table + to_pandas().to_numpy()",
            pyarrow_rate(parquet_paths, total, strings, as_pandas),
            "strings as Python objects" if strings else "",
        ),
    ]
    measured = medians([ours_csv, ours, reads, *references], sizes.reps)
    rows = []
    every = f"{total:,} rows in {sizes.ingest_files} files, every file's arrays kept; median of {sizes.reps}"
    for alternative, rate in measured.items():
        versus = [f"{ratio(rate, measured[ours_csv])} our CSV"]
        if alternative in (ours, reads):
            versus += [
                f"{ratio(rate, measured[ref])} {short}" for ref, short in zip(references, SHORT, strict=True)
            ]
        note = "; ".join(filter(None, [alternative.note, every]))
        if alternative is ours:
            note += "; targets: >= 5x our CSV, >= 1x pyarrow read_table + NumPy"
        rows.append(Row(TITLE, alternative.name, rate, "M rows/s", ", ".join(versus), note))
    return rows


def memory(what: str, warm: Path, folder: Path, label: str, target: str, peak_target: str = "") -> list[Row]:
    """Resident growth of a fresh process after one poll of `folder`, and its peak, against the rows' size."""
    options = {"label": label}
    figures = fresh_process("benchmarks.parquet_probe", warm, folder, json.dumps(options))
    raw = figures["rows"] * figures["columns"] * 4
    versus = f"rows: {raw / 2**20:,.1f} MiB ({figures['rows']:,} x {figures['columns']} x 4 B)"
    return [
        Row(
            TITLE,
            f"{what}: ours, Parquet: {stage}",
            (figures[key] - figures["before"]) / 2**20,
            "MiB",
            f"{ratio(figures[key] - figures['before'], raw)} {versus}",
            note,
        )
        for stage, key, note in (
            ("RSS growth after poll()", "polled", f"VmRSS; target <= {target}"),
            (
                "peak RSS growth during poll()",
                "peak",
                "VmHWM, reset before the poll" + (peak_target and f"; target < {peak_target}"),
            ),
        )
    ]


def big_file(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """Peak and resident growth of one poll of a Parquet file of at least `big_file_bytes`."""
    folder = root / "parquet-big"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "big.parquet"
    rows_per_copy = len(source.rows)
    table = float_table(source, 0, rows_per_copy)
    # A float32 value takes about 4 bytes in the file: copies until the file holds `big_file_bytes`.
    copies = math.ceil(sizes.big_file_bytes / (rows_per_copy * COLUMNS * 4))
    with pq.ParquetWriter(path, table.schema) as writer:
        for _ in range(copies):
            writer.write_table(table, row_group_size=BIG_GROUP_ROWS)
    past = time.time() - 60
    os.utime(path, (past, past))
    mib = path.stat().st_size / 2**20
    log(f"wrote {path.name}: {mib:,.0f} MiB, {copies * rows_per_copy:,} rows")
    try:
        return memory(
            f"one {number(mib)} MiB file", root / "parquet-floats-warm", folder, LABEL, "1.1x", "1.5x"
        )
    finally:
        path.unlink()


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    files, per_file = sizes.ingest_files, sizes.ingest_rows_per_file
    floats_csv = root / "parquet-floats-csv"
    source.write_files(floats_csv, files, per_file)
    floats = write_parquet_files(
        lambda a, b: float_table(source, a, b), root / "parquet-floats", files, per_file
    )
    write_parquet_files(lambda a, b: float_table(source, a, b), root / "parquet-floats-warm", 1, 1000)
    mixed_source = MixedSource(files * per_file)
    mixed_csv = root / "parquet-mixed-csv"
    mixed_source.write_files(mixed_csv, files, per_file)
    mixed = write_parquet_files(
        lambda a, b: mixed_table(mixed_source, a, b), root / "parquet-mixed", files, per_file
    )
    write_parquet_files(lambda a, b: mixed_table(mixed_source, a, b), root / "parquet-mixed-warm", 1, 1000)
    rows = rates("11 floats", floats_csv, floats, LABEL, (), sizes)
    rows += rates("7 floats, 3 strings", mixed_csv, mixed, MIXED_LABEL, tuple(STRINGS), sizes)
    rows += memory("11 floats", root / "parquet-floats-warm", root / "parquet-floats", LABEL, "1.1x")
    rows += memory(
        "7 floats, 3 strings", root / "parquet-mixed-warm", root / "parquet-mixed", MIXED_LABEL, "1.3x"
    )
    rows += big_file(source, sizes, root)
    return rows
