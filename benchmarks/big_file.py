"""Section 10: resident memory while one poll takes one big file, against the rows' size as float32.

A file's rows should cost about their float32 size: during the poll that parses them (the peak)
and after it (what stays resident). The storages are measured in turn in one fresh process
(`big_file_probe`), the peak reset before each poll, after a warm-up poll of a small file with
each one's options.
"""

import json
import math
from pathlib import Path

from benchmarks.fixtures import HEADER, LABEL, CsvSource
from benchmarks.harness import Row, Sizes, fresh_process, log, number, ratio

TITLE = "10 big file"


def write_big_file(source: CsvSource, path: Path, size: int) -> int:
    """Writes a CSV file of at least `size` bytes: all of `source`'s rows, repeated; its row count."""
    repeats = math.ceil(size / len(source.text))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(HEADER)
        for _ in range(repeats):
            f.write(source.text)
    return repeats * len(source.rows)


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """Peak and resident growth of each storage, in MiB and as a multiple of the rows' float32 size."""
    path = root / "big" / "big.csv"
    rows = write_big_file(source, path, sizes.big_file_bytes)
    source.write_files(root / "big-warm", 1, 1000)
    mib = path.stat().st_size / 2**20
    log(f"wrote {path.name}: {mib:,.0f} MiB, {rows:,} rows")
    cases = [
        ('storage="memory"', {}),
        ('storage="memory", state_dir', {"state_dir": str(root / "big-state-memory")}),
        (
            'storage="disk", state_dir',
            {
                "storage": "disk",
                "storage_dir": str(root / "big-rows"),
                "state_dir": str(root / "big-state-disk"),
            },
        ),
    ]
    table = []
    try:
        options = json.dumps([options for _, options in cases])
        measured = fresh_process("benchmarks.big_file_probe", root / "big-warm", root / "big", LABEL, options)
        for (name, _), figures in zip(cases, measured, strict=True):
            if figures["rows"] != rows:
                raise RuntimeError(f"{name}: read {figures['rows']:,} rows, expected {rows:,}")
            raw = figures["rows"] * figures["columns"] * 4
            versus = (
                f"rows as float32: {raw / 2**20:,.0f} MiB ({figures['rows']:,} x {figures['columns']} x 4 B)"
            )
            stages = [
                ("peak RSS growth during poll()", "peak", "VmHWM, reset before the poll; goal < 1.5x"),
                ("RSS growth after poll()", "polled", "VmRSS; goal < 1.1x"),
            ]
            for stage, key, note in stages:
                grown = figures[key] - figures["before"]
                table.append(
                    Row(
                        TITLE,
                        f"ours, {name}: {stage}, one {number(mib)} MiB file",
                        grown / 2**20,
                        "MiB",
                        f"{ratio(grown, raw)} {versus}",
                        note,
                    )
                )
    finally:
        path.unlink()
    return table
