"""A producer that drops CSV files into the watched folder while the demo trains."""

import os
import threading
from collections.abc import Sequence

import keras
import numpy as np


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
