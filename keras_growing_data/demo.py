"""A self-contained demo: a producer drops CSV files while a model trains.

`run_demo()` is what `python -m keras_growing_data demo` runs. With
scikit-learn installed (`pip install "keras-growing-data[demo]"`) the files
hold scikit-learn's bundled copy of the UCI handwritten digits (1,797 rows of
8x8 pixel values, label `digit`; read from the package, no download).
Without it they hold rows of the synthetic generator `synthetic_data`. The
pieces the demo prints with, `GrowthPrinter` and `summary_table`, serve the
`train` command too.
"""

import dataclasses
import importlib.util
import os
import tempfile
import threading
from collections.abc import Callable, Sequence

import keras
import numpy as np

from keras_growing_data.callback import GrowingDataCallback
from keras_growing_data.default_model import default_model
from keras_growing_data.trainer import GrowingDatasetTrainer

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


class GrowthPrinter(keras.callbacks.Callback):
    """Prints one line each time the data grew at an epoch boundary.

    Example:

    ```python
    trainer.fit(epochs=10, callbacks=[GrowthPrinter(data)])
    # growth at epoch 2: +1 file, +250 rows -> 500 rows from 2 files
    ```

    Args:
        data: the callback watching the training folder.
        print_fn: where the lines go.
    """

    def __init__(self, data: GrowingDataCallback, print_fn: Callable[[str], None] = print):
        super().__init__()
        self.data = data
        self.print_fn = print_fn
        self.rows = 0
        self.files = 0

    def on_train_begin(self, logs=None):
        self.rows = 0
        self.files = 0

    def on_epoch_begin(self, epoch, logs=None):
        # What the epoch trains on; `num_rows` may already count a file that
        # a background poll took in after the epoch's data was fixed.
        record = getattr(self.data, "lineage", {}).get(epoch)
        if record is not None:
            rows, files = record.rows, len(record.files)
        else:
            rows, files = self.data.num_rows, len(self.data.accepted)
        if rows != self.rows:
            self.print_fn(
                f"growth at epoch {epoch + 1}: +{_count(files - self.files, 'file')}, "
                f"+{_count(rows - self.rows, 'row')} -> {_count(rows, 'row')} from {_count(files, 'file')}"
            )
        self.rows, self.files = rows, files


def summary_table(history: keras.callbacks.History | dict, columns: Sequence[str] | None = None) -> str:
    """Formats a run's epoch logs as a text table, one line per epoch.

    Example:

    >>> print(summary_table({"rows": [250, 500], "files": [1, 2], "loss": [0.9, 0.5]}))
    epoch  rows  files    loss
        1   250      1  0.9000
        2   500      2  0.5000

    Args:
        history: a `keras.callbacks.History` or its `history` dict.
        columns: the logs to show; by default `rows`, `files`, `loss` and
            `val_loss`, those present.

    Returns:
        The table, without a final newline.
    """
    logs = getattr(history, "history", history)
    epochs = getattr(history, "epoch", None) or list(range(len(next(iter(logs.values()), []))))
    if columns is None:
        columns = [name for name in ("rows", "files", "loss", "val_loss") if name in logs]
    header = ["epoch", *columns]
    table = [header]
    for i, epoch in enumerate(epochs):
        table.append([str(epoch + 1), *(_cell(logs[name][i]) for name in columns)])
    widths = [max(len(row[j]) for row in table) for j in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in table)


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
        f"Trained {_count(len(history.epoch), 'epoch')}; the data grew to "
        f"{_count(data.num_rows, 'row')} from {_count(len(data.accepted), 'file')}."
    )
    print_fn(summary_table(history))
    if out is not None:
        save_plot(history, out, print_fn)
    return history


def save_plot(history: keras.callbacks.History, out: str, print_fn: Callable[[str], None] = print) -> bool:
    """Writes `plot_growth(history)` to `out` and prints its path; says so if matplotlib is missing."""
    from keras_growing_data.plot import plot_growth

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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _cell(value) -> str:
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.4e}"
