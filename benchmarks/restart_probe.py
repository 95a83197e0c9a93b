"""`python -m benchmarks.restart_probe FOLDER STATE_DIR FILES`: times a restart from a state of FILES files.

The state is made from one real ingest: its accepted file's record and rows are copied FILES
times (other paths, their rows one after the other in one segment), as weeks of arrivals would
leave it; then a fresh `GrowingDataCallback` restores it. Prints one JSON line.
"""

import json
import os
import sys
import time

import keras_growing_data as kgd
from benchmarks.fixtures import LABEL
from keras_growing_data.sources.journal import decode_record, encode_record


def grown_state(folder: str, state_dir: str, files: int) -> None:
    """Rewrites a one-file state folder as the state of `files` such files."""
    with open(os.path.join(state_dir, "state.json"), "rb") as f:
        snapshot = decode_record(f.read())
    [record] = snapshot["state"]["accepted"]
    ref = record["rows_ref"]
    segment = os.path.join(state_dir, "rows", ref["segment"])
    with open(segment, "rb") as f:
        f.seek(ref["offset"])
        piece = f.read(ref["bytes"])
    with open(segment, "wb") as f:
        f.write(piece * files)
    snapshot["state"]["accepted"] = [
        {
            **record,
            "path": os.path.join(folder, f"f{i:06d}.csv"),
            "rows_ref": {**ref, "offset": i * len(piece)},
        }
        for i in range(files)
    ]
    with open(os.path.join(state_dir, "state.json"), "wb") as f:
        f.write(encode_record(snapshot))


def main(folder: str, state_dir: str, files: str) -> None:
    with open(os.path.join(folder, "f000000.csv"), "w") as f:
        f.write(f"a,b,{LABEL}\n" + "".join(f"{i},{i * 2},{i % 7}\n" for i in range(8)))
    os.utime(os.path.join(folder, "f000000.csv"), (1e9, 1e9))
    first = kgd.GrowingDataCallback(folder, label=LABEL, settle_seconds=0, state_dir=state_dir)
    first.poll()
    del first
    grown_state(folder, state_dir, int(files))
    start = time.perf_counter()
    data = kgd.GrowingDataCallback(folder, label=LABEL, settle_seconds=0, state_dir=state_dir)
    restored = time.perf_counter() - start
    start = time.perf_counter()
    data.poll()
    polled = time.perf_counter() - start
    print(
        json.dumps({"restart": restored, "poll": polled, "files": len(data.accepted), "rows": data.num_rows})
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
