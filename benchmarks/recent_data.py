"""Section 13: recent data: one file appended to for many epochs, and a window over a long run.

A tailed file grown by an append at every boundary (`appends="tail"`) against the same rows
landing as a new file at every boundary, and a soak with `window=Window(files=...)` whose files
keep coming and leaving (a retention job deletes those that left). Each run compares its last
span of epochs with its first (for the window: the first once it is full), in fresh processes
(`recent_probe`); every epoch is a single batch of all rows.
"""

import dataclasses
from pathlib import Path

from benchmarks.fixtures import LABEL, CsvSource
from benchmarks.harness import Row, Sizes, fresh_process, median, number, ratio
from benchmarks.soak import p90

TITLE = "13 recent data"


def spans(figures: dict, start: int, compare: int) -> dict[str, tuple[float, float]]:
    """Each measure over epochs `start ... start + compare` and over the last `compare` epochs."""
    begins, ends, rss = figures["begins"], figures["ends"], figures["rss"]
    epochs = len(ends)
    gaps = [begin - end for end, begin in zip(ends, begins[1:], strict=False)]
    early, late = gaps[start : start + compare], gaps[-compare:]
    state = {int(epoch): size for epoch, size in figures["state_bytes"].items()}
    rows = {int(epoch): size for epoch, size in figures["row_bytes"].items()}
    records = {int(epoch): size for epoch, size in figures["manifest_bytes"].items()}
    written = figures["written"]
    edges = ((start, start + compare), (epochs - compare, epochs))
    polls = {int(epoch): seconds * 1e3 for epoch, seconds in figures["polls"].items()}
    return {
        "boundary": (median(early) * 1e3, median(late) * 1e3),
        "boundary_p90": (p90(early) * 1e3, p90(late) * 1e3),
        "poll": (
            median([ms for epoch, ms in polls.items() if epoch < start + compare]),
            median([ms for epoch, ms in polls.items() if epoch >= epochs - compare]),
        ),
        "written": tuple((written[b] - written[a]) / compare / 1e3 for a, b in edges),
        "rss_growth": tuple((rss[b] - rss[a]) / 2**20 for a, b in edges),
        "rss_end": tuple(rss[b] / 2**20 for _, b in edges),
        "row_bytes": tuple(rows[b] / 1e6 for _, b in edges),
        "records": tuple(records[b] / 1e3 for _, b in edges),
        "state_size": tuple(state[b] / 1e6 for _, b in edges),
    }


def rows_of(name: str, measures: dict, specs: list, span: str) -> list[Row]:
    rows = []
    for label, key, unit, note in specs:
        first, last = measures[key]
        versus = f"{ratio(last, first)} first span" if first > 0 else ""
        note = "; ".join(filter(None, [f"first span: {number(first)} {unit}", note]))
        rows.append(Row(TITLE, f"{name}: {label}, {span}", last, unit, versus, note))
    return rows


SPECS = [
    ("epoch boundary, median", "boundary", "ms", "on_epoch_end to on_epoch_begin"),
    ("epoch boundary, p90", "boundary_p90", "ms", ""),
    ("idle poll()", "poll", "ms", "timed at on_epoch_begin with nothing new"),
    ("bytes written per epoch", "written", "KB", "wchar of the process"),
    ("state_dir rows (segments) at the span's end", "row_bytes", "MB", ""),
    ("state records (snapshot + journal) at the span's end", "records", "KB", ""),
    ("RSS growth over the span", "rss_growth", "MiB", ""),
    ("RSS at the span's end", "rss_end", "MiB", ""),
]


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    appends, compare, rows_each = sizes.tail_appends, sizes.tail_compare, sizes.arrival_rows
    runs = {}
    for kind in ("tail", "files"):
        (root / f"tail-{kind}").mkdir()
        args = (root / f"tail-{kind}", root / f"tail-{kind}-state", appends, compare, rows_each, LABEL)
        runs[kind] = fresh_process(
            "benchmarks.recent_probe", "tail", *args, *(["files"] if kind == "files" else [])
        )
    span = f"last {compare:,} of {appends:,} epochs"
    rows = rows_of("one file tailed", spans(runs["tail"], 0, compare), SPECS, span)
    rows[0] = dataclasses.replace(
        rows[0],
        note=f'{rows[0].note}; appends="tail", {rows_each} rows appended to one file at every on_epoch_end, '
        f"state_dir; {runs['tail']['seconds']:.0f} s in all",
    )
    baseline = spans(runs["files"], 0, compare)
    tail = spans(runs["tail"], 0, compare)
    name = f"baseline, a new {rows_each}-row file at every boundary"
    for label, key, unit, _ in SPECS:
        first, last = baseline[key]
        note = f"first span: {number(first)} {unit}"
        if key == "boundary":
            note += f"; {runs['files']['seconds']:.0f} s in all"
        versus = f"tailing: {ratio(tail[key][1], last)} this" if last > 0 and tail[key][1] > 0 else ""
        rows.append(Row(TITLE, f"{name}: {label}, {span}", last, unit, versus, note))

    epochs, files, compare = sizes.window_epochs, sizes.window_files, sizes.soak_window
    source.write_files(root / "window-pending", epochs, rows_each)
    (root / "window").mkdir()
    args = (root / "window", root / "window-pending", root / "window-state", epochs, files, compare, LABEL)
    window = fresh_process("benchmarks.recent_probe", "window", *args)
    measures = spans(window, files, compare)
    span = f"last {compare:,} of {epochs:,} epochs against epochs {files:,}-{files + compare:,}"
    window_rows = rows_of(f"Window(files={files:,})", measures, SPECS, span)
    window_rows[0] = dataclasses.replace(
        window_rows[0],
        note=f"{window_rows[0].note}; a {rows_each}-row file landing at every on_epoch_end, state_dir, "
        f"files deleted 10 epochs after they left; {window['seconds']:.0f} s in all; "
        f"{window['rows']:,} rows in {window['pieces']} pieces at the end",
    )
    return rows + window_rows
