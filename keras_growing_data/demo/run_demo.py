"""Trains a default model while CSV files land in a folder, and prints and plots what happened."""

import importlib.util
import os
import tempfile
from collections.abc import Callable

import keras
import numpy as np

from keras_growing_data.demo.data import load_demo_data
from keras_growing_data.demo.producer import Producer, write_csv_file
from keras_growing_data.training.callback import GrowingDataCallback
from keras_growing_data.training.default_model import default_model
from keras_growing_data.training.growth_printer import GrowthPrinter, count
from keras_growing_data.training.plot import save_plot
from keras_growing_data.training.summary_table import summary_table
from keras_growing_data.training.trainer import GrowingDatasetTrainer

DEFAULT_PLOT = "keras-growing-data-demo.png"


def run_demo(
    epochs: int = 12,
    out: str | None = DEFAULT_PLOT,
    folder: str | None = None,
    label: str | None = None,
    source: str = "auto",
    files: int = 6,
    verbose: str | int = "auto",
    wait_for_data: float = 600,
    print_fn: Callable[[str], None] = print,
) -> keras.callbacks.History:
    """Trains a default model while CSV files land in a folder; returns the History.

    Without `folder`, a producer drops the demo data (see `load_demo_data`)
    in `files` parts into a temporary folder, one part as each epoch begins,
    and a second folder holds validation rows. With `folder`, that folder is
    watched instead (files settle for 1 s) and no producer runs. It prints a
    line per growth step, a summary table, and writes a plot of loss and
    dataset size per epoch to `out` (when matplotlib is installed).

    Example:

    ```python
    history = run_demo(epochs=8, out="growth.png")
    ```

    Args:
        epochs: epochs to train.
        out: path of the PNG plot, or `None` for none.
        folder: a folder to watch instead of the producer's.
        label: the label column of `folder`'s files; by default the demo
            data's (`digit` or `price`).
        source: the demo data, `"auto"`, `"digits"` or `"synthetic"`.
        files: parts the demo data arrives in.
        verbose: as in `model.fit`.
        wait_for_data: seconds to wait for the first file of `folder`.
        print_fn: where the demo's lines go (Keras progress bars go to stdout).
    """
    with tempfile.TemporaryDirectory(prefix="kgd-demo-") as scratch:
        if folder is None:
            demo = load_demo_data(source)
            folder = os.path.join(scratch, "train")
            val_folder = os.path.join(scratch, "validation")
            os.makedirs(folder)
            os.makedirs(val_folder)
            parts = np.array_split(demo.train, files)
            write_csv_file(os.path.join(folder, "part-000.csv"), demo.columns, parts[0])
            write_csv_file(os.path.join(val_folder, "validation.csv"), demo.columns, demo.validation)
            print_fn(
                f"Demo data: {demo.name}, {len(demo.train)} training rows in {files} files, "
                f"{len(demo.validation)} validation rows."
            )
            print_fn(f"Watching {folder}: a producer adds a file as each epoch begins.")
            label = demo.label
            callbacks = [Producer(folder, demo.columns, parts[1:])]
            settle = 0.0
            validation = GrowingDataCallback(
                val_folder, label=label, batch_size=64, settle_seconds=0, strings_as="index"
            )
        else:
            label = label or _demo_label(source)
            print_fn(f"Watching {folder} for CSV files with label column {label!r}.")
            callbacks, settle, validation = [], 1.0, None
        # The default model takes string columns as ids, into embeddings with room for new strings.
        data = GrowingDataCallback(
            folder, label=label, batch_size=32, seed=0, settle_seconds=settle, strings_as="index"
        )
        data.poll()
        if wait_for_data > 0 and data.num_rows == 0:
            print_fn(f"Waiting up to {wait_for_data:g} s for the first file in {folder}...")
        data.wait_for_rows(wait_for_data)
        keras.utils.set_random_seed(0)
        trainer = GrowingDatasetTrainer(default_model(data, print_fn=print_fn), data)
        history = trainer.fit(
            epochs=epochs,
            callbacks=[*callbacks, GrowthPrinter(data, print_fn)],
            validation_data=validation,
            verbose=verbose,
        )
    print_fn(
        f"Trained {count(len(history.epoch), 'epoch')}; the data grew to "
        f"{count(data.num_rows, 'row')} from {count(len(data.accepted), 'file')}."
    )
    print_fn(summary_table(history))
    if out is not None:
        save_plot(history, out, print_fn)
    return history


def _demo_label(source: str) -> str:
    digits = source == "digits" or source == "auto" and importlib.util.find_spec("sklearn") is not None
    return "digit" if digits else "price"
