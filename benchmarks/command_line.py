"""Section 7: seconds a fresh process takes to print the command line's help, against importing TensorFlow."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.fixtures import CsvSource
from benchmarks.harness import Alternative, Row, Sizes, medians, rows_against_baseline, timed

NOTE = "help, --version and wrong options import no TensorFlow"


def run_measure(command: list[str]) -> Callable[[], float]:
    """A measure: seconds that `command` takes, with TensorFlow's logs off."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return lambda: timed(lambda: subprocess.run(command, env=env, capture_output=True, check=True))


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """Uses neither `source` nor `root`: it writes no data."""
    alternatives = [
        Alternative(
            "keras-growing-data --help (a fresh process)",
            run_measure([sys.executable, "-m", "keras_growing_data", "--help"]),
            NOTE,
        ),
        Alternative(
            "python -c 'import tensorflow'",
            run_measure([sys.executable, "-c", "import tensorflow"]),
            NOTE,
            baseline=True,
        ),
    ]
    return rows_against_baseline("7 command line", medians(alternatives, sizes.reps), "s")
