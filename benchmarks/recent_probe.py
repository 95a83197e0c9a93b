"""Long runs on recent data in a fresh process: a window of files, or one file appended to.

`python -m benchmarks.recent_probe window FOLDER PENDING STATE_DIR EPOCHS FILES COMPARE LABEL`
trains through `GrowingDatasetTrainer.fit` with `state_dir` and `window=Window(files=FILES)`:
each epoch's end moves the next file of PENDING into FOLDER and deletes the one that left the
window a while ago, as a retention job would. `python -m benchmarks.recent_probe tail FOLDER
STATE_DIR EPOCHS COMPARE ROWS LABEL [files]` appends ROWS rows to one file at each epoch's end, with
`appends="tail"` (or, with `files`, writes them to a new file instead: the baseline). Either prints
one JSON line of `SoakClock` samples; the state folder and its rows are measured at the start and
the end of the two spans of COMPARE epochs compared (the first once the window is full).
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import keras_growing_data as kgd
from benchmarks.fixtures import COLUMNS
from benchmarks.soak_probe import POLL_SAMPLES, SoakClock, folder_bytes, tiny_model


class RecentClock(SoakClock):
    """A `SoakClock` whose first span of `compare` epochs starts at epoch `start`, not 0."""

    def __init__(self, epochs: int, start: int, compare: int, land, poll, state_dir: str):
        super().__init__(epochs, compare, land, poll, state_dir)
        self.edges = {start, start + compare, epochs - compare, epochs}
        stride = max(1, compare // POLL_SAMPLES)
        self.poll_epochs = {*range(start, start + compare, stride), *range(epochs - compare, epochs, stride)}
        self.row_bytes = {}

    def sample(self, epoch: int) -> None:
        super().sample(epoch)
        if epoch in self.edges:
            self.row_bytes[epoch] = folder_bytes(os.path.join(self.state_dir, "rows"))

    def finish(self) -> dict:
        return {**super().finish(), "row_bytes": self.row_bytes}


def window_run(folder, pending, state_dir, epochs: int, files: int, compare: int, label: str) -> dict:
    paths = sorted(Path(pending).iterdir())
    kept_after_leaving = 10  # Files that left stay this many epochs before the retention job deletes them.

    def land(i: int) -> None:
        os.replace(paths[i], Path(folder) / paths[i].name)
        gone = i - files - kept_after_leaving
        if gone >= 0:
            os.remove(Path(folder) / paths[gone].name)

    land(0)
    rows = sum(1 for _ in open(paths[1])) - 1
    data = kgd.GrowingDataCallback(
        folder,
        label=label,
        batch_size=files * rows,
        settle_seconds=0,
        state_dir=state_dir,
        window=kgd.Window(files=files),
    )
    clock = RecentClock(epochs, files, compare, land, data.poll, state_dir)
    history = kgd.GrowingDatasetTrainer(tiny_model(), data).fit(epochs=epochs, callbacks=[clock], verbose=0)
    if history.history["files"][-1] != files or history.history["files_left"][-1] != epochs - files:
        raise RuntimeError(f"the last epoch trained on {history.history['files'][-1]} files, not {files}")
    return {**clock.finish(), "pieces": data.ingest.store.num_pieces, "rows": data.num_rows}


def tail_run(folder, state_dir, epochs: int, compare: int, rows: int, label: str, files: bool) -> dict:
    values = np.random.default_rng(0).normal(size=(epochs * rows, COLUMNS))
    header = ",".join(f"c{i}" for i in range(COLUMNS)) + "\n"  # The label is the last, as in `CsvSource`.

    def text(i: int) -> str:
        return "".join(",".join(f"{v:.5f}" for v in row) + "\n" for row in values[i * rows : (i + 1) * rows])

    log = Path(folder) / "log.csv"

    def land(i: int) -> None:
        if files:
            (Path(folder) / f"part-{i:05d}.csv").write_text(header + text(i))
        else:
            with open(log, "a") as f:
                f.write(text(i))

    if files:
        land(0)
    else:
        log.write_text(header + text(0))
    appends = "warn" if files else "tail"
    data = kgd.GrowingDataCallback(
        folder, label=label, batch_size=epochs * rows, settle_seconds=0, state_dir=state_dir, appends=appends
    )
    clock = RecentClock(epochs, 0, compare, land, data.poll, state_dir)
    history = kgd.GrowingDatasetTrainer(tiny_model(), data).fit(epochs=epochs, callbacks=[clock], verbose=0)
    if history.history["rows"][-1] != epochs * rows:
        raise RuntimeError(
            f"the last epoch trained on {history.history['rows'][-1]} rows, not {epochs * rows}"
        )
    return clock.finish()


def main(mode: str, *args: str) -> None:
    start = time.perf_counter()
    if mode == "window":
        folder, pending, state_dir, epochs, files, compare, label = args
        figures = window_run(folder, pending, state_dir, int(epochs), int(files), int(compare), label)
    else:
        folder, state_dir, epochs, compare, rows, label, *kind = args
        figures = tail_run(folder, state_dir, int(epochs), int(compare), int(rows), label, kind == ["files"])
    print(json.dumps({**figures, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main(*sys.argv[1:])
