"""What the sections share: sizes, table rows, alternatives, timing helpers, and the report."""

import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import keras
import numpy as np
import tensorflow as tf

from benchmarks.fixtures import pd

T = TypeVar("T")
START = time.perf_counter()


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How big each section is and how often it repeats."""

    reps: int  # Repetitions of sections 1 and 7.
    pass_reps: int  # Repetitions of the passes of sections 4 and 6.
    ingest_files: int
    ingest_rows_per_file: int
    seed_ingest_rows: int  # The per-line py_function recipe reads only this many rows.
    per_line_ingest_rows: int  # Per-line decode_csv reads only this many rows.
    train_files: int
    train_rows_per_file: int
    rounds: int
    epochs_per_round: int
    seed_train_files: int
    seed_train_rows_per_file: int
    stall_reps: int
    stall_base_files: int
    stall_landing_rows: int
    arrivals: int
    arrival_rows: int
    soak_epochs: int  # Each brings one file of `arrival_rows` rows.
    soak_window: int  # Epochs at the start and at the end of the soak that are compared.
    big_file_bytes: int
    restart_files: int  # Accepted files in the state a restart reads.
    backend_rows: int  # Rows at the start of each backend's runs.
    backend_epochs: int
    backend_arrival_rows: int  # Rows of the file that lands at each of their boundaries.
    backlog_files: int  # Small files waiting when training starts.
    tail_appends: int  # Epochs of the tailed file, each bringing an append of `arrival_rows` rows.
    tail_compare: int  # Epochs at the start and at the end of a section 13 run that are compared.
    window_epochs: int  # Epochs of the window soak, each bringing a file of `arrival_rows` rows.
    window_files: int  # The window's bound, in files.

    def source_rows(self) -> int:
        stall = self.stall_base_files * self.train_rows_per_file + self.stall_reps * self.stall_landing_rows
        return max(
            self.ingest_files * self.ingest_rows_per_file,
            self.train_files * self.train_rows_per_file,
            stall,
            self.arrivals * self.arrival_rows,
            self.soak_epochs * self.arrival_rows,
            self.backlog_files * self.arrival_rows,
            self.window_epochs * self.arrival_rows,
        )


FULL = Sizes(
    reps=3,
    pass_reps=7,
    ingest_files=10,
    ingest_rows_per_file=100_000,
    seed_ingest_rows=10_000,
    per_line_ingest_rows=100_000,
    train_files=100,
    train_rows_per_file=10_000,
    rounds=7,
    epochs_per_round=1,
    seed_train_files=20,
    seed_train_rows_per_file=500,
    stall_reps=5,
    stall_base_files=10,
    stall_landing_rows=100_000,
    arrivals=1000,
    arrival_rows=8,
    soak_epochs=5000,
    soak_window=500,
    big_file_bytes=1 << 30,
    restart_files=100_000,
    backend_rows=50_000,
    backend_epochs=8,
    backend_arrival_rows=7,
    backlog_files=10_000,
    tail_appends=1000,
    tail_compare=100,
    window_epochs=5000,
    window_files=500,
)
SMOKE = Sizes(
    reps=1,
    pass_reps=1,
    ingest_files=2,
    ingest_rows_per_file=2000,
    seed_ingest_rows=200,
    per_line_ingest_rows=2000,
    train_files=4,
    train_rows_per_file=500,
    rounds=1,
    epochs_per_round=2,
    seed_train_files=2,
    seed_train_rows_per_file=100,
    stall_reps=1,
    stall_base_files=2,
    stall_landing_rows=1000,
    arrivals=20,
    arrival_rows=8,
    soak_epochs=30,
    soak_window=10,
    big_file_bytes=4 << 20,
    restart_files=500,
    backend_rows=1000,
    backend_epochs=3,
    backend_arrival_rows=7,
    backlog_files=200,
    tail_appends=20,
    tail_compare=5,
    window_epochs=40,
    window_files=10,
)


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the results table; `value` None means not measured."""

    section: str
    alternative: str
    value: float | None
    unit: str
    versus: str = ""
    note: str = ""


@dataclasses.dataclass(frozen=True, eq=False)
class Alternative(Generic[T]):
    """One way to do what a section measures: its label, one measurement, and its note.

    `baseline` marks the one the others are compared to; `cap`, when set, limits a measure too
    slow to repeat to its first `cap` repetitions. Compared and hashed by identity.
    """

    name: str
    measure: Callable[[], T]
    note: str = ""
    baseline: bool = False
    cap: int | None = None


def baseline(alternatives: Iterable[Alternative[T]]) -> Alternative[T]:
    """The one alternative marked as baseline."""
    (only,) = (alternative for alternative in alternatives if alternative.baseline)
    return only


def interleave(alternatives: Sequence[Alternative[T]], reps: int) -> dict[Alternative[T], list[T]]:
    """Measures every alternative `reps` times (at most its `cap`), alternating, in reverse order
    every other time; their samples, in the order given."""
    samples = {alternative: [] for alternative in alternatives}
    for rep in range(reps):
        for alternative in alternatives if rep % 2 == 0 else alternatives[::-1]:
            if alternative.cap is None or rep < alternative.cap:
                samples[alternative].append(alternative.measure())
    return samples


def medians(alternatives: Sequence[Alternative[float]], reps: int) -> dict[Alternative[float], float]:
    """The median of each alternative's `interleave` samples."""
    return {alternative: median(values) for alternative, values in interleave(alternatives, reps).items()}


def rows_against_baseline(title: str, values: dict[Alternative[float], float], unit: str) -> list[Row]:
    """A row per alternative: its value, that against the baseline's, and its note."""
    reference = values[baseline(values)]
    return [
        Row(title, alternative.name, value, unit, ratio(value, reference), alternative.note)
        for alternative, value in values.items()
    ]


def log(message: str) -> None:
    print(f"[{time.perf_counter() - START:6.1f} s] {message}", file=sys.stderr, flush=True)


def number(value: float) -> str:
    """A value with three significant digits, without exponent for big ones."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def ratio(value: float, reference: float) -> str:
    return f"{number(value / reference)}x"


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], object]) -> float:
    """Seconds that `fn()` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fresh_process(module: str, *args: object, env: dict[str, str] | None = None) -> dict:
    """Runs `python -m module args` from the repository root, with `env` added to the environment;
    the JSON of its last line of output."""
    result = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_rows(found: int, expected: int, what: str) -> None:
    if found != expected:
        raise RuntimeError(f"{what}: read {found} rows, expected {expected}")


@tf.function
def count_rows_in_graph(dataset: tf.data.Dataset) -> tf.Tensor:
    """The rows in a dataset's batches (first component), iterating inside a `tf.function` as
    `model.fit` does.

    Traced once per element spec, so every dataset of `(x, y)` batches shares
    one trace; a Python loop would add ~0.1 ms of eager overhead per batch.
    """
    rows = tf.constant(0, tf.int64)
    for element in dataset:
        rows += tf.cast(tf.shape(tf.nest.flatten(element)[0])[0], tf.int64)
    return rows


def pass_alternative(
    name: str,
    dataset: Callable[[], tf.data.Dataset],
    expected: int,
    note: str,
    is_baseline: bool = False,
    cap: int | None = None,
) -> Alternative[float]:
    """An alternative measuring the seconds to get `dataset()` and iterate it to the end in a
    `tf.function`; it must hold `expected` rows."""

    def measure() -> float:
        start = time.perf_counter()
        rows = int(count_rows_in_graph(dataset()))
        seconds = time.perf_counter() - start
        check_rows(rows, expected, name)
        return seconds

    return Alternative(name, measure, note, is_baseline, cap)


# Report ----------------------------------------------------------------------------------------


def render_table(rows: list[Row]) -> str:
    lines = [
        "| section | alternative | value | unit | vs baseline | note |",
        "|---|---|--:|---|---|---|",
    ]
    for row in rows:
        value = "n/a" if row.value is None else number(row.value)
        cells = [row.section, row.alternative, value, row.unit, row.versus, row.note]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.machine()


def memory_gib() -> str:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return "unknown"
    kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
    return f"{kib / 2**20:.1f}"


def machine() -> str:
    gpus = len(tf.config.list_physical_devices("GPU"))
    versions = f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}"
    versions += f", NumPy {np.__version__}" + (f", pandas {pd.__version__}" if pd is not None else "")
    for name in ("pyarrow", "isal", "jax", "torch"):
        if importlib.util.find_spec(name) is not None:
            versions += f", {name} {importlib.metadata.version(name)}"
    return (
        f"{os.cpu_count()} CPU cores ({cpu_name()}), {memory_gib()} GiB RAM, {gpus or 'no'} GPU; {versions}"
    )


def report(rows: list[Row], argv: list[str], sizes: Sizes, load: float) -> str:
    mode = "smoke sizes (timings mean nothing)" if sizes is SMOKE else "full sizes"
    elapsed = time.perf_counter() - START
    command = " ".join(["python -m benchmarks", *argv])
    return (
        f"Machine: {machine()}. Command: `{command}`.\n"
        f"{mode}; medians of {sizes.reps} alternating repetitions (section 2: {sizes.rounds} rounds of "
        f"{sizes.epochs_per_round} epoch(s), first epoch dropped; section 3: {sizes.stall_reps}; "
        f"section 4 passes: {sizes.pass_reps}); "
        f"{elapsed:.0f} s in all; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."
        f"\n\n{render_table(rows)}\n"
    )
