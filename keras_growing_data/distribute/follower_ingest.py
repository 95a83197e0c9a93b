"""A follower worker takes exactly the files of the chief's epoch snapshot."""

import posixpath

from keras_growing_data.distribute.snapshot import EpochSnapshot
from keras_growing_data.errors import SnapshotError
from keras_growing_data.sources.ingest import FolderIngest
from keras_growing_data.sources.watcher import FileStat


def ingest_snapshot(ingest: FolderIngest, snapshot: EpochSnapshot) -> list[str]:
    """Makes a follower's accepted files exactly the snapshot's; returns the new paths.

    The follower must already hold a prefix of the snapshot's files (usually
    the previous epoch's); the rest are ingested one by one, in the
    snapshot's order, without scanning the folder. Each must be the version
    the chief accepted (size and modification time) and give the same row
    count. Files that left the chief's window first leave this worker's too;
    those it never read are only counted (`FolderIngest.note_left`). With
    `appends="tail"`, the snapshot's pieces (those of the files in the
    window) are taken instead of whole files, in the chief's order, each
    read up to the chief's byte. Nothing is quarantined here, whatever
    `on_bad_file` says: only the chief may move a file.

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
    # Files that left the chief's window before this worker came to them are counted, never read.
    for record, path in list(zip(snapshot.files, paths, strict=True))[len(have) : snapshot.files_left]:
        ingest.note_left(path, record.rows, record.size, record.mtime_ns)
    ingest.leave_before(snapshot.files_left)
    if snapshot.pieces:
        return _follow_pieces(ingest, snapshot, paths)
    return _follow_files(ingest, snapshot, paths, len(ingest.accepted))


def _current(ingest: FolderIngest, path: str, where: str) -> FileStat:
    """A fresh stat of a file the chief took, which this worker must be able to read too."""
    stat = ingest.watcher.current(path)
    if stat is None:
        raise SnapshotError(f"{where} does not exist on this worker: is the data folder shared?")
    if stat.problem:
        raise SnapshotError(f"{where} cannot be read on this worker: it {stat.problem}")
    return stat


def _follow_files(ingest: FolderIngest, snapshot: EpochSnapshot, paths: list[str], have: int) -> list[str]:
    """Takes the snapshot's files after the first `have`, each whole, as the chief accepted it."""
    todo = list(zip(snapshot.files[have:], paths[have:], strict=True))
    stats = []
    for record, path in todo:
        where = f"{path} (accepted by the chief for epoch {snapshot.epoch})"
        stat = _current(ingest, path, where)
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


def _follow_pieces(ingest: FolderIngest, snapshot: EpochSnapshot, paths: list[str]) -> list[str]:
    """Takes the snapshot's pieces this worker lacks, in order: new files and what was appended.

    A tailed file keeps growing, so its version is not compared: each piece
    must give the chief's rows, read up to the chief's byte.
    """
    mine = [(path, end) for path, end, _ in ingest.piece_ends]
    theirs = [(paths[index], end) for index, end, _ in snapshot.pieces]
    if mine != theirs[: len(mine)]:
        raise SnapshotError(
            f"This worker's pieces of rows are not the first of the chief's snapshot of epoch "
            f"{snapshot.epoch} (this worker: {mine[:3]}..., snapshot: {theirs[:3]}...)."
        )
    new = []
    for index, end, rows in snapshot.pieces[len(mine) :]:
        path = paths[index]
        where = f"{path} (read up to byte {end} by the chief for epoch {snapshot.epoch})"
        stat = _current(ingest, path, where)
        if stat.size < end:
            raise SnapshotError(f"{where} holds {stat.size} bytes on this worker: is the data folder shared?")
        if path not in ingest.accepted:
            new.append(path)
        got = ingest.take_piece(stat, end)
        if path in ingest.rejected:
            raise SnapshotError(f"{where} is rejected on this worker: {ingest.rejected[path].reason}")
        if got != rows:
            raise SnapshotError(
                f"{where} gives {got} rows on this worker and {rows} on the chief "
                "(different on_bad_row or max_line_bytes, or it changed in the part the chief read?)."
            )
    return new
