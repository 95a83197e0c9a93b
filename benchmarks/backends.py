"""Section 11: epoch time on each Keras backend installed, against that backend's own `model.fit`.

Each backend runs in a fresh process (`backend_probe`): `model.fit` on the rows in memory, then
`GrowingDatasetTrainer` on the same rows in files, gaining a small file at every boundary, which
changes the last batch's size: with `pad_last_batch="auto"`, and, where that pads (a model that
compiles per batch shape: JAX; torch and TensorFlow only with `jit_compile=True`), unpadded too,
which compiles again at every epoch. The median of the epochs after the first is reported.
"""

import importlib.util
from pathlib import Path

import keras

from benchmarks.fixtures import CsvSource
from benchmarks.harness import SMOKE, Row, Sizes, fresh_process, median, ratio

TITLE = "11 backends"
BACKENDS = ("tensorflow", "jax", "torch")
FILES = 5


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    start = root / "backends-start"
    source.write_files(start, FILES, sizes.backend_rows // FILES)
    rows = []
    # At smoke sizes only the backend in use: CI checks that the probe runs, and each fresh
    # process costs seconds.
    backends = (keras.backend.backend(),) if sizes is SMOKE else BACKENDS
    for backend in backends:
        if importlib.util.find_spec(backend) is None:
            rows.append(Row(TITLE, f"{backend}: not installed", None, "", "", f"pip install {backend}"))
            continue
        result = fresh_process(
            "benchmarks.backend_probe",
            start,
            root / f"backends-{backend}",
            sizes.backend_epochs,
            sizes.backend_arrival_rows,
            env={"KERAS_BACKEND": backend},
        )
        control = median(result["control"][1:])
        unit = "s/epoch, wall"
        rows.append(Row(TITLE, f"{backend}: model.fit, rows in memory", control, unit, "", "baseline"))
        ours = median(result["ours"][1:])
        padded = result["ours_padded"]
        note = "last batch padded" if padded else "not padded: the model does not compile per shape"
        rows.append(Row(TITLE, f"{backend}: ours, a file per epoch", ours, unit, ratio(ours, control), note))
        if padded:
            unpadded = median(result["unpadded"][1:])
            note = "a compile per epoch"
            rows.append(
                Row(
                    TITLE,
                    f"{backend}: ours, pad_last_batch=False",
                    unpadded,
                    unit,
                    ratio(unpadded, control),
                    note,
                )
            )
    return rows
