"""Resident memory of a fresh process while one poll takes a single big file, for several options.

`python -m benchmarks.big_file_probe WARM_FOLDER FOLDER LABEL CASES` takes CASES, a JSON list of
`GrowingDataCallback` keyword arguments. It first polls WARM_FOLDER once with each (TF's first ops,
thread pools, the code of each storage; `state_dir` and `storage_dir` suffixed `-warm`), then, case
after case, polls FOLDER with a new callback and drops it, and prints one JSON line: per case, the
rows and columns held, VmRSS before and after the poll and the peak (VmHWM, reset before the poll)
during it, in bytes.
"""

import gc
import json
import sys

import keras_growing_data as kgd
from benchmarks.memory_probe import status
from keras_growing_data.utils.process_memory import release_parse_memory

WARM_SUFFIX = "-warm"


def measure(folder: str, label: str, options: dict) -> dict[str, int]:
    data = kgd.GrowingDataCallback(folder, label=label, settle_seconds=0, **options)
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # Resets VmHWM, the peak resident memory, to VmRSS.
    before = status("VmRSS")
    data.poll()
    return dict(
        rows=data.num_rows,
        columns=len(data.columns),
        before=before,
        polled=status("VmRSS"),
        peak=status("VmHWM"),
    )


def main(warm_folder: str, folder: str, label: str, cases: str) -> None:
    cases = json.loads(cases)
    for options in cases:
        warm = {key: value + WARM_SUFFIX for key, value in options.items() if key.endswith("_dir")}
        kgd.GrowingDataCallback(warm_folder, label=label, settle_seconds=0, **{**options, **warm}).poll()
    figures = []
    for options in cases:
        gc.collect()  # The previous case's rows go before this one's measure begins.
        release_parse_memory()
        figures.append(measure(folder, label, options))
    print(json.dumps(figures))


if __name__ == "__main__":
    main(*sys.argv[1:])
