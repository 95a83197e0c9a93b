"""A self-contained demo: a producer drops CSV files while a model trains.

`run_demo()` is what `python -m keras_growing_data demo` runs. With
scikit-learn installed (`pip install "keras-growing-data[demo]"`) the files
hold scikit-learn's bundled copy of the UCI handwritten digits (1,797 rows of
8x8 pixel values, label `digit`; read from the package, no download).
Without it they hold rows of the synthetic generator `synthetic_data`.
"""

import argparse
import dataclasses
import importlib.util
import os
import tempfile
import threading
from collections.abc import Callable, Sequence

import keras
import numpy as np

from keras_growing_data.cli.exit_codes import EXIT_OK
from keras_growing_data.training.callback import GrowingDataCallback
from keras_growing_data.training.default_model import default_model
from keras_growing_data.training.growth_printer import GrowthPrinter, count
from keras_growing_data.training.summary_table import summary_table
from keras_growing_data.training.trainer import GrowingDatasetTrainer

DEFAULT_PLOT = "keras-growing-data-demo.png"


@dataclasses.dataclass(frozen=True)
class DemoData:
    """Rows for the demo: training rows dropped in parts, and validation rows.

    `train` and `validation` are float arrays whose columns follow
    `columns`, the label last.
    """

    name: str
    columns: tuple[str, ...]
    label: str
    train: np.ndarray
    validation: np.ndarray


def synthetic_data(rows: int = 1800, validation_rows: int = 300, seed: int = 0) -> DemoData:
    """Rows of the documented synthetic regression, for when scikit-learn is absent.

    Eight features `x0 ... x7` are drawn from a standard normal, and the
    label is `price = x . w + 0.1 * noise`, with `w = linspace(-1, 1, 8)`
    the same for every row and standard normal noise, so every part samples
    one relation and the best mean squared error is 0.01.

    Example:

    >>> data = synthetic_data(rows=100, validation_rows=20)
    >>> data.train.shape, data.columns[-1]
    ((100, 9), 'price')

    Args:
        rows: training rows.
        validation_rows: validation rows.
        seed: seed of the draws.
    """
    features = 8
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows + validation_rows, features))
    w = np.linspace(-1.0, 1.0, features)
    y = x @ w + 0.1 * rng.normal(size=rows + validation_rows)
    table = np.column_stack([x, y])
    columns = tuple(f"x{i}" for i in range(features)) + ("price",)
    return DemoData("synthetic price = x . w + noise", columns, "price", table[:rows], table[rows:])


def digits_data(validation_rows: int = 297, seed: int = 0) -> DemoData:
    """scikit-learn's bundled handwritten digits, shuffled, as training and validation rows.

    1,797 images of 8x8 pixels with values 0 to 16 (columns `pixel_0_0` to
    `pixel_7_7`), label `digit` (0 to 9). `sklearn.datasets.load_digits`
    reads them from a file inside the package: no network.

    Example:

    >>> data = digits_data()
    >>> data.train.shape, data.validation.shape
    ((1500, 65), (297, 65))

    Args:
        validation_rows: rows held out for validation.
        seed: seed of the shuffle.

    Raises:
        ImportError: scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ImportError(
            'The digits demo data needs scikit-learn: pip install "keras-growing-data[demo]"'
        ) from e
    digits = load_digits()
    table = np.column_stack([digits.data, digits.target])
    table = table[np.random.default_rng(seed).permutation(len(table))]
    columns = tuple(digits.feature_names) + ("digit",)
    split = len(table) - validation_rows
    return DemoData("scikit-learn digits", columns, "digit", table[:split], table[split:])


def load_demo_data(source: str = "auto") -> DemoData:
    """The demo's rows: `"digits"`, `"synthetic"`, or `"auto"` (digits if scikit-learn is installed)."""
    if source == "digits":
        return digits_data()
    if source == "synthetic":
        return synthetic_data()
    if source != "auto":
        raise ValueError(f"source must be 'auto', 'digits' or 'synthetic', got {source!r}.")
    try:
        return digits_data()
    except ImportError:
        return synthetic_data()


def write_csv_file(path: str, columns: Sequence[str], rows: np.ndarray) -> None:
    """Writes a header and rows to `path` atomically (write, then rename)."""
    partial = path + ".part"
    np.savetxt(partial, rows, delimiter=",", fmt="%.7g", header=",".join(columns), comments="")
    os.replace(partial, path)


class Producer(keras.callbacks.Callback):
    """Drops the next part from a thread as each epoch begins, while it trains.

    The part is written by the time the epoch ends, so the demo is
    repeatable: with the first part written before training, epoch k trains
    on parts 0 to k until all have landed.

    Args:
        folder: where the parts land, as `part-001.csv`, `part-002.csv`, ...
        columns: the header.
        parts: the row arrays still to drop, in order.
    """

    def __init__(self, folder: str, columns: Sequence[str], parts: Sequence[np.ndarray]):
        super().__init__()
        self.folder = folder
        self.columns = columns
        self.parts = list(parts)
        self.thread = None

    def on_train_begin(self, logs=None):
        self.next_part = 0

    def on_epoch_begin(self, epoch, logs=None):
        if self.next_part < len(self.parts):
            path = os.path.join(self.folder, f"part-{self.next_part + 1:03d}.csv")
            args = (path, self.columns, self.parts[self.next_part])
            self.thread = threading.Thread(target=write_csv_file, args=args)
            self.thread.start()
            self.next_part += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.thread is not None:
            self.thread.join()
            self.thread = None


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
            validation = GrowingDataCallback(val_folder, label=label, batch_size=64, settle_seconds=0)
        else:
            label = label or _demo_label(source)
            print_fn(f"Watching {folder} for CSV files with label column {label!r}.")
            callbacks, settle, validation = [], 1.0, None
        data = GrowingDataCallback(folder, label=label, batch_size=32, seed=0, settle_seconds=settle)
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


def save_plot(history: keras.callbacks.History, out: str, print_fn: Callable[[str], None] = print) -> bool:
    """Writes `plot_growth(history)` to `out` and prints its path; says so if matplotlib is missing."""
    from keras_growing_data.training.plot import plot_growth

    try:
        figure = plot_growth(history)
    except ImportError as e:
        print_fn(f"No plot: {e}")
        return False
    figure.savefig(out, dpi=100)
    print_fn(f"Plot of loss and dataset size per epoch: {os.path.abspath(out)}")
    return True


def _demo_label(source: str) -> str:
    digits = source == "digits" or source == "auto" and importlib.util.find_spec("sklearn") is not None
    return "digit" if digits else "price"


def run(args: argparse.Namespace) -> int:
    """Runs `keras-growing-data demo`; returns the exit code."""
    run_demo(
        epochs=args.epochs,
        out=args.out or DEFAULT_PLOT,
        folder=args.folder,
        label=args.label,
        source=args.data,
    )
    return EXIT_OK
