"""Section 14: JSON Lines ingest: the rows of sections 1 and 8 as JSON Lines, ours against pandas.

The same 1M rows as sections 1 and 8 read as CSV (11 floats; and 7 floats, 3 strings and a float
label), written one JSON object a line, numbers as "%.7g" wrote them, in the same number of files.
Ours is a fresh `GrowingDataCallback(...).poll()` (Arrow's JSON reader on chunks of lines, the
schema inferred from the first file, rows validated and stacked, strings dictionary-encoded);
the baseline is `pandas.read_json(lines=True)` on each file, then its table as NumPy (the floats
as one float32 matrix; with strings, its default types, the strings Python objects).
"""

from pathlib import Path

import numpy as np

import keras_growing_data as kgd
from benchmarks.fixtures import COLUMNS, LABEL, CsvSource, pd
from benchmarks.harness import Alternative, Row, Sizes, check_rows, medians, number, ratio, timed
from benchmarks.typed import HEADER, NUMBERS, STRINGS, MixedSource
from benchmarks.typed import LABEL as MIXED_LABEL

TITLE = "14 JSON Lines"
FLOATS_LINE = ("{" + ",".join(f'"c{i}":%s' for i in range(COLUMNS)) + "}\n").encode()
MIXED_LINE = (
    "{"
    + ",".join(
        [*(f'"{name}":%s' for name in NUMBERS), *(f'"{name}":"%s"' for name in STRINGS), f'"{HEADER[-1]}":%s']
    )
    + "}\n"
).encode()


def write_json_lines(folder: Path, lines: list[bytes], files: int, per_file: int) -> list[str]:
    """Writes the lines as `files` files of `per_file` lines each, named `part-NNNNN.jsonl`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(files):
        path = folder / f"part-{i:05d}.jsonl"
        path.write_bytes(b"".join(lines[i * per_file : (i + 1) * per_file]))
        paths.append(str(path))
    return paths


def ingest_ours(folder: Path, label: str, expected: int):
    def run() -> None:
        data = kgd.GrowingDataCallback(folder, label=label, settle_seconds=0, strings_as="index")
        data.poll()
        check_rows(data.num_rows, expected, "ours")

    return run


def ingest_pandas(paths: list[str], expected: int, floats: bool):
    def run() -> None:
        rows = 0
        for path in paths:
            table = pd.read_json(path, lines=True)
            rows += len(table.to_numpy(np.float32) if floats else table.to_numpy())
        check_rows(rows, expected, "pandas")

    return run


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """Ours against `pandas.read_json(lines=True)`, on each table."""
    files, per_file = sizes.ingest_files, sizes.ingest_rows_per_file
    total = files * per_file
    float_lines = [FLOATS_LINE % tuple(line.split(b",")) for line in source.text.splitlines()[:total]]
    mixed_lines = [MIXED_LINE % tuple(line.rstrip(b"\n").split(b",")) for line in MixedSource(total).lines]
    tables = (
        ("11 floats", root / "jsonl-floats", float_lines, LABEL, True),
        ("7 floats, 3 strings, a float label", root / "jsonl-mixed", mixed_lines, MIXED_LABEL, False),
    )
    rows = []
    for held, folder, lines, label, floats in tables:
        paths = write_json_lines(folder, lines, files, per_file)
        what = f"{files} files x {per_file:,} rows ({held})"
        if pd is None:
            rows.append(Row(TITLE, f"pandas.read_json, {what}", None, "M rows/s", "", "skipped: no pandas"))
            continue
        pandas = Alternative(
            f"baseline: pandas.read_json(lines=True), {what}",
            lambda paths=paths, floats=floats: timed(ingest_pandas(paths, total, floats)),
            "then .to_numpy(float32)" if floats else "then .to_numpy(), its strings Python objects",
            True,
        )
        ours = Alternative(
            "ours: fresh GrowingDataCallback(...).poll()",
            lambda folder=folder, label=label: timed(ingest_ours(folder, label, total)),
            "schema inferred, rows validated and stacked, strings as ids; target >= 1x",
        )
        times = medians([pandas, ours], sizes.reps)
        for alternative, seconds in times.items():
            note = "; ".join(filter(None, [alternative.note, f"median of {sizes.reps}: {number(seconds)} s"]))
            versus = ratio(times[pandas], seconds) + " pandas"
            rows.append(Row(TITLE, alternative.name, total / seconds / 1e6, "M rows/s", versus, note))
    return rows
