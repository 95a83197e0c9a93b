"""Plots a growing run: loss curves above, dataset size per epoch below; `save_plot` writes one to a file."""

import os
from collections.abc import Callable

import keras

PLOT_EXTRA_HINT = 'plot_growth needs matplotlib: pip install "keras-growing-data[plot]"'


def plot_growth(history: keras.callbacks.History | dict, title: str | None = None):
    """Draws loss curves and dataset size per epoch on one figure.

    The upper axes show every loss of the run (`loss`, `val_loss`, and the
    per-output losses of a model with several outputs) per epoch, with a
    dotted line at each epoch where new rows joined. The lower axes show the
    rows each epoch trained on as bars, and on a second scale, `files`, the
    files it trained on as a line (with a `Window`, also the files that had
    left it by then, dashed). Their legend sits below the axes, where it
    hides no bar. Epochs are numbered from 1, as in Keras's progress bar.

    The figure is a `matplotlib.figure.Figure` made without `pyplot`, so no
    window opens and no global state is kept: save it with `savefig`, or
    let a notebook show it.

    Example:

    ```python
    history = GrowingDatasetTrainer(model, data).fit(epochs=20)
    plot_growth(history).savefig("growth.png")
    ```

    Args:
        history: the `keras.callbacks.History` that
            `GrowingDatasetTrainer.fit` returned, or its `history` dict.
        title: the figure's title, if any.

    Returns:
        The `matplotlib.figure.Figure`.

    Raises:
        ImportError: matplotlib is not installed (the message names the
            `plot` extra).
        TypeError: `history` is neither a History nor a dict, or `title`
            is not a string.
        ValueError: the history has no epochs, or no `rows` log (it does
            not come from `GrowingDatasetTrainer.fit`).
    """
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as e:
        raise ImportError(PLOT_EXTRA_HINT) from e
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise TypeError(f"history must be a keras.callbacks.History or its history dict, got {history!r}.")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string or None, got {title!r}.")
    if "rows" not in logs:
        raise ValueError(
            "The history has no 'rows' log: pass the History that GrowingDatasetTrainer.fit returned."
        )
    rows = list(logs["rows"])
    if not rows:
        raise ValueError("The history has no epochs to plot.")
    epochs = [e + 1 for e in (getattr(history, "epoch", None) or range(len(rows)))]
    losses = [name for name in logs if name == "loss" or name.endswith("_loss")]

    figure = Figure(figsize=(9, 6.5), layout="constrained")
    loss_axes, size_axes = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    for name in losses:
        loss_axes.plot(epochs, logs[name], marker="o", markersize=4, label=name)
    # Files that ever joined: with a window, rows stay level as files come and go.
    joined = [
        a + b for a, b in zip(logs.get("files", rows), logs.get("files_left", [0] * len(rows)), strict=True)
    ]
    grew = [
        epoch
        for epoch, count, before, files, files_before in zip(
            epochs, rows, [0, *rows], joined, [0, *joined], strict=False
        )
        if count != before or files != files_before
    ]
    for i, epoch in enumerate(grew):
        label = "new rows" if i == 0 else None
        loss_axes.axvline(epoch, color="0.6", linestyle=":", linewidth=1, label=label)
    loss_axes.set_ylabel("loss")
    if losses or grew:
        loss_axes.legend(loc="upper right")
    loss_axes.grid(alpha=0.3)

    size_axes.bar(epochs, rows, color="tab:green", alpha=0.6, label="rows trained on")
    size_axes.set_ylabel("rows", color="tab:green")
    size_axes.set_xlabel("epoch")
    size_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    size_legend_axes = [size_axes]
    if "files" in logs:
        files_axes = size_axes.twinx()
        files_axes.step(epochs, logs["files"], where="mid", color="tab:purple", label="files trained on")
        if "files_left" in logs:
            files_axes.step(
                epochs,
                logs["files_left"],
                where="mid",
                color="tab:purple",
                linestyle="--",
                label="files that had left the window",
            )
        files_axes.set_ylabel("files", color="tab:purple")
        files_axes.set_ylim(bottom=0)
        files_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        size_legend_axes.append(files_axes)
    handles = [handle for axes in size_legend_axes for handle in axes.get_legend_handles_labels()[0]]
    # Below the axes (constrained layout makes room for it), so that it covers no bar.
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    if title:
        figure.suptitle(title)
    return figure


def save_plot(history: keras.callbacks.History, out: str, print_fn: Callable[[str], None] = print) -> bool:
    """Writes `plot_growth(history)` to `out` and prints its path; says so if matplotlib is missing."""
    try:
        figure = plot_growth(history)
    except ImportError as e:
        print_fn(f"No plot: {e}")
        return False
    figure.savefig(out, dpi=100)
    print_fn(f"Plot of loss and dataset size per epoch: {os.path.abspath(out)}")
    return True
