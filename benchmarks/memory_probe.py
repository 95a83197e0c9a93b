"""Resident memory of a fresh process that ingests a folder and makes one pass over its rows.

`python -m benchmarks.memory_probe WARM_FOLDER FOLDER LABEL` first ingests and passes over
WARM_FOLDER (TF's first ops, tracing, thread pools), then FOLDER, and prints one JSON line: the
rows and columns held, and VmRSS before, after the poll and after the pass, and the peak (VmHWM)
since before, in bytes.
"""

import json
import sys

import keras_growing_data as kgd


def status(key: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(key + ":"))


def ingest(folder: str, label: str) -> "kgd.GrowingDataCallback":
    data = kgd.GrowingDataCallback(folder, label=label, batch_size=4096, settle_seconds=0)
    data.poll()
    return data


def one_pass(data: "kgd.GrowingDataCallback") -> None:
    for _ in data.dataset:
        pass


def main(warm_folder: str, folder: str, label: str) -> None:
    one_pass(ingest(warm_folder, label))
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # Resets VmHWM, the peak resident memory, to VmRSS.
    before = status("VmRSS")
    data = ingest(folder, label)
    polled = status("VmRSS")
    one_pass(data)
    passed = status("VmRSS")
    figures = dict(
        rows=data.num_rows,
        columns=len(data.columns),
        before=before,
        polled=polled,
        passed=passed,
        peak=status("VmHWM"),
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main(*sys.argv[1:])
