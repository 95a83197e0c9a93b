"""A follower worker takes exactly the files of the chief's epoch snapshot."""

import posixpath

from keras_growing_data.distribute.snapshot import EpochSnapshot, SnapshotError
from keras_growing_data.sources.ingest import FolderIngest


def ingest_snapshot(ingest: FolderIngest, snapshot: EpochSnapshot) -> list[str]:
    """Makes a follower's accepted files exactly the snapshot's; returns the new paths.

    The follower must already hold a prefix of the snapshot's files (usually
    the previous epoch's); the rest are ingested one by one, in the
    snapshot's order, without scanning the folder. Each must be the version
    the chief accepted (size and modification time) and give the same row
    count. Nothing is quarantined here, whatever `on_bad_file` says: only
    the chief may move a file.

    Raises:
        SnapshotError: the follower cannot reproduce the snapshot.
    """
    paths = [posixpath.join(ingest.directory, f.name) for f in snapshot.files]
    have = list(ingest.accepted)
    if have != paths[: len(have)]:
        raise SnapshotError(
            f"This worker holds files the chief's snapshot of epoch {snapshot.epoch} does not list "
            f"first, in that order (this worker: {have[:5]}..., snapshot: {paths[:5]}...). "
            "Followers take files from the chief only: give them their own state_dir, or none."
        )
    todo = list(zip(snapshot.files[len(have) :], paths[len(have) :], strict=True))
    stats = []
    for record, path in todo:
        where = f"{path} (accepted by the chief for epoch {snapshot.epoch})"
        stat = ingest.watcher.current(path)
        if stat is None:
            raise SnapshotError(f"{where} does not exist on this worker: is the data folder shared?")
        if stat.problem:
            raise SnapshotError(f"{where} cannot be read on this worker: it {stat.problem}")
        if (stat.size, stat.mtime_ns) != (record.size, record.mtime_ns):
            raise SnapshotError(
                f"{where} is not the version the chief accepted: size {record.size} -> {stat.size} "
                f"bytes, mtime {record.mtime_ns} -> {stat.mtime_ns} ns. Files must not change once "
                "written (write new data to a new file)."
            )
        stats.append(stat)
    ingest.ingest_files(stats, quarantine=False)
    for record, path in todo:
        where = f"{path} (accepted by the chief for epoch {snapshot.epoch})"
        if path not in ingest.accepted:
            raise SnapshotError(f"{where} is rejected on this worker: {ingest.rejected[path].reason}")
        rows = ingest.accepted[path].rows
        if rows != record.rows:
            raise SnapshotError(
                f"{where} gives {rows} rows on this worker and {record.rows} on the chief "
                "(different on_bad_row or max_line_bytes?)."
            )
    return [path for _, path in todo]
