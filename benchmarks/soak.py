"""Section 9: a soak of thousands of epochs with `state_dir`, a small file arriving at every boundary.

What an epoch boundary costs must not grow with the files taken: the boundary itself, an idle
`poll()`, the bytes written to `state_dir` per epoch and the resident memory are compared between
the first and the last window of epochs. A control trains the same tiny model as long on static
rows, one `model.fit` per epoch, as the trainer does: its memory growth is Keras's own. Both run in
fresh processes (`soak_probe`), one after the other; every epoch is a single batch of all rows.
Last, a restart from a state of `restart_files` accepted files is timed (`restart_probe`).
"""

import statistics
from pathlib import Path

from benchmarks.fixtures import LABEL, CsvSource
from benchmarks.harness import Row, Sizes, fresh_process, median, number, ratio

TITLE = "9 soak"


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def windows(figures: dict, epochs: int, window: int) -> dict[str, tuple[float, float]]:
    """Each measure over the first and over the last `window` epochs of a soak's samples."""
    begins, ends, rss = figures["begins"], figures["ends"], figures["rss"]
    gaps = [begin - end for end, begin in zip(ends, begins[1:], strict=False)]
    first, last = (0, window), (epochs - window, epochs)
    measures = {
        "boundary": (median(gaps[:window]) * 1e3, median(gaps[-window:]) * 1e3),
        "boundary_p90": (p90(gaps[:window]) * 1e3, p90(gaps[-window:]) * 1e3),
        "epoch": tuple((begins[b] - begins[a]) / window * 1e3 for a, b in (first, (epochs - window - 1, -1))),
        "rss_growth": tuple((rss[b] - rss[a]) / 2**20 for a, b in (first, last)),
        "rss_start": (rss[0] / 2**20, rss[epochs - window] / 2**20),
        "rss_end": (rss[window] / 2**20, rss[epochs] / 2**20),
    }
    polls = {int(epoch): seconds for epoch, seconds in figures["polls"].items()}
    if polls:
        early = [seconds * 1e3 for epoch, seconds in polls.items() if epoch < window]
        late = [seconds * 1e3 for epoch, seconds in polls.items() if epoch >= epochs - window]
        measures["poll"] = (median(early), median(late))
    if figures["state_bytes"]:
        state = {int(epoch): size for epoch, size in figures["state_bytes"].items()}
        manifest = {int(epoch): size for epoch, size in figures["manifest_bytes"].items()}
        written = figures["written"]
        measures["written"] = tuple((written[b] - written[a]) / window / 1e3 for a, b in (first, last))
        measures["state_growth"] = tuple((state[b] - state[a]) / window / 1e3 for a, b in (first, last))
        measures["state_size"] = (state[window] / 1e6, state[epochs] / 1e6)
        measures["manifest_size"] = (manifest[window] / 1e3, manifest[epochs] / 1e3)
    return measures


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """A row per measure: its value over the last window, against the first window's."""
    epochs, window, per_file = sizes.soak_epochs, sizes.soak_window, sizes.arrival_rows
    batch = epochs * per_file
    source.write_files(root / "soak-pending", epochs, per_file)
    (root / "soak").mkdir()
    args = (root / "soak", root / "soak-pending", root / "soak-state", epochs, window, batch, LABEL)
    ours = fresh_process("benchmarks.soak_probe", "ours", *args)
    control = fresh_process("benchmarks.soak_probe", "control", batch, epochs, window, batch)
    mine, keras = windows(ours, epochs, window), windows(control, epochs, window)
    last = f"last {window:,} of {epochs:,} epochs"
    setup = (
        f"GrowingDatasetTrainer.fit(epochs={epochs:,}), state_dir, a {per_file}-row file landing at every "
        f"on_epoch_end, Dense(1), one batch an epoch; {ours['seconds']:.0f} s in all"
    )
    control_setup = (
        f"same model, {batch:,} static rows in memory, model.fit(initial_epoch=e, epochs=e + 1) "
        f"x {epochs:,}; {control['seconds']:.0f} s in all"
    )
    grown = (ours["rss"][-1] - ours["rss"][0]) / 2**20
    keras_grown = (control["rss"][-1] - control["rss"][0]) / 2**20
    specs = [
        ("ours: epoch boundary, median", mine, "boundary", "ms", f"on_epoch_end to on_epoch_begin; {setup}"),
        ("ours: epoch boundary, p90", mine, "boundary_p90", "ms", ""),
        ("ours: epoch, wall time", mine, "epoch", "ms", "on_epoch_begin to the next on_epoch_begin"),
        (
            "ours: idle poll()",
            mine,
            "poll",
            "ms",
            f"median of {len([e for e in ours['polls'] if int(e) < window])} a window, timed at "
            "on_epoch_begin with nothing new",
        ),
        (
            "ours: bytes written per epoch",
            mine,
            "written",
            "KB",
            "wchar of the process; it writes nothing else",
        ),
        ("ours: state_dir growth per epoch", mine, "state_growth", "KB", "total size of its files"),
        ("ours: state_dir size at the window's end", mine, "state_size", "MB", ""),
        ("ours: state records (snapshot + journal) at the window's end", mine, "manifest_size", "KB", ""),
        ("ours: RSS growth over the window", mine, "rss_growth", "MiB", ""),
        ("ours: RSS at the window's start", mine, "rss_start", "MiB", ""),
        ("ours: RSS at the window's end", mine, "rss_end", "MiB", ""),
        ("control: epoch boundary, median", keras, "boundary", "ms", control_setup),
        ("control: epoch, wall time", keras, "epoch", "ms", ""),
        ("control: RSS growth over the window", keras, "rss_growth", "MiB", "Keras's own growth"),
        ("control: RSS at the window's end", keras, "rss_end", "MiB", ""),
    ]
    rows = []
    for name, values, key, unit, note in specs:
        first, late = values[key]
        versus = f"{ratio(late, first)} first {window:,}" if first > 0 else ""
        note = "; ".join(filter(None, [f"first {window:,}: {number(first)} {unit}", note]))
        rows.append(Row(TITLE, f"{name}, {last}", late, unit, versus, note))
    share = f"control (Keras alone) {number(keras_grown)} MiB" + (
        f": {keras_grown / grown:.0%} of ours" if grown > 0 else ""
    )
    rows.append(Row(TITLE, f"ours: RSS growth over all {epochs:,} epochs", grown, "MiB", "", share))
    (root / "restart").mkdir()
    files = sizes.restart_files
    restart = fresh_process("benchmarks.restart_probe", root / "restart", root / "restart-state", files)
    assert restart["files"] == files, restart
    note = f"a state of {files:,} accepted files ({restart['rows']:,} rows), made from one real ingest"
    rows.append(Row(TITLE, f"restart at {files:,} accepted files", restart["restart"], "s", "", note))
    rows.append(
        Row(TITLE, f"idle poll() after it, {files:,} files taken", restart["poll"] * 1e3, "ms", "", "")
    )
    return rows
