"""Section 5: resident memory growth of a fresh process holding the accepted rows, against their raw size.

The figures come from `memory_probe`, run in a subprocess so that nothing of the other sections
counts.
"""

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.fixtures import LABEL, CsvSource
from benchmarks.harness import Row, Sizes, ratio

REPO_ROOT = Path(__file__).resolve().parents[1]


def probe(warm_folder: str, folder: str) -> dict[str, int]:
    """Runs `benchmarks.memory_probe` in a fresh Python; its measurements in bytes."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory_probe", warm_folder, folder, LABEL],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """The growth after the poll, after one pass, and at the peak, over the rows of section 2."""
    source.write_files(root / "warm", 1, 1000)
    source.write_files(root / "memory", sizes.train_files, sizes.train_rows_per_file)
    figures = probe(str(root / "warm"), str(root / "memory"))
    raw = figures["rows"] * figures["columns"] * 4
    held = f"{figures['rows']:,} rows x {figures['columns']} columns"
    versus = f"raw float32 {raw / 1e6:.1f} MB"
    stages = [
        (
            f"ours: RSS growth after poll(), {held}",
            "polled",
            "fresh process, after a warm-up poll; target <= 1.3x",
        ),
        ("ours: RSS growth after one pass over data.dataset", "passed", "every batch iterated once"),
        ("ours: peak RSS growth (VmHWM)", "peak", "highest resident memory during the poll and the pass"),
    ]
    return [
        Row(
            "5 memory",
            name,
            (figures[key] - figures["before"]) / 1e6,
            "MB",
            f"{ratio(figures[key] - figures['before'], raw)} {versus}",
            note,
        )
        for name, key, note in stages
    ]
