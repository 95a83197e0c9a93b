"""Resident memory of a fresh process while one poll takes a folder of Parquet files, and after it.

`python -m benchmarks.parquet_probe WARM_FOLDER FOLDER OPTIONS` takes OPTIONS, a JSON object of
`GrowingDataCallback` keyword arguments. It first polls WARM_FOLDER with them (TF's first ops,
Arrow's thread pool and memory pool, the code of the store), then polls FOLDER with a new callback,
and prints one JSON line: the rows and columns held, VmRSS before and after the poll, and the peak
(VmHWM, reset before the poll) during it, in bytes.
"""

import gc
import json
import sys

import keras_growing_data as kgd
from benchmarks.memory_probe import status
from keras_growing_data.utils.process_memory import release_parse_memory


def main(warm_folder: str, folder: str, options: str) -> None:
    options = json.loads(options)
    kgd.GrowingDataCallback(warm_folder, settle_seconds=0, **options).poll()
    gc.collect()
    release_parse_memory()
    data = kgd.GrowingDataCallback(folder, settle_seconds=0, **options)
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # Resets VmHWM, the peak resident memory, to VmRSS.
    before = status("VmRSS")
    data.poll()
    figures = dict(
        rows=data.num_rows,
        columns=len(data.columns),
        before=before,
        polled=status("VmRSS"),
        peak=status("VmHWM"),
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main(*sys.argv[1:])
