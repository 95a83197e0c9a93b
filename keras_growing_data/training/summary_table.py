"""Formats a run's epoch logs as a text table."""

from collections.abc import Sequence

import keras
import numpy as np


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
    if not isinstance(logs, dict):
        raise TypeError(f"history must be a keras.callbacks.History or its history dict, got {history!r}.")
    epochs = getattr(history, "epoch", None) or list(range(len(next(iter(logs.values()), []))))
    if columns is None:
        columns = [name for name in ("rows", "files", "loss", "val_loss") if name in logs]
    header = ["epoch", *columns]
    table = [header]
    for i, epoch in enumerate(epochs):
        table.append([str(epoch + 1), *(_cell(logs[name][i]) for name in columns)])
    widths = [max(len(row[j]) for row in table) for j in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in table)


def _cell(value) -> str:
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.4e}"
