"""`keras-growing-data status`: the accepted, pending and rejected files of a folder."""

import argparse
import logging
import time

from keras_growing_data.cli.exit_codes import EXIT_OK, EXIT_REJECTED
from keras_growing_data.sources.manifest import Manifest
from keras_growing_data.sources.records import records_of
from keras_growing_data.sources.watcher import DEFAULT_PATTERNS, FileStat, FolderWatcher
from keras_growing_data.training.callback import GrowingDataCallback
from keras_growing_data.utils.printable import printable, relative_to


def run(args: argparse.Namespace) -> int:
    """Prints the report of `args.folder`; returns the exit code (1 if a file is rejected)."""
    pattern = args.pattern or DEFAULT_PATTERNS
    watcher = FolderWatcher(args.folder, pattern, args.settle_seconds, recursive=args.recursive)
    if not watcher.exists():
        raise FileNotFoundError(f"The folder {args.folder!r} does not exist.")
    if args.state_dir is not None:
        # Read-only: the run owns its state folder and may be writing to it.
        state = Manifest(args.state_dir).load()
        if state is None:
            raise FileNotFoundError(f"No saved state in {args.state_dir!r}: no run has saved state there.")
        if state["directory"] != watcher.directory:
            raise ValueError(
                f"{args.state_dir!r} holds the state of a run on {state['directory']!r}, "
                f"not {watcher.directory!r}."
            )
        accepted, rejected = records_of(state)
    else:
        data = GrowingDataCallback(
            args.folder,
            args.label,
            pattern=pattern,
            settle_seconds=args.settle_seconds,
            recursive=args.recursive,
            partition_columns=args.partition_columns,
        )
        library_logger = logging.getLogger("keras_growing_data")
        level = library_logger.level
        library_logger.setLevel(logging.ERROR)  # The report says it all.
        try:
            data.poll()
        finally:
            library_logger.setLevel(level)
        accepted, rejected = data.accepted, data.rejected
    print(status_report(watcher.directory, accepted, rejected, watcher.candidates()))
    return EXIT_REJECTED if rejected else EXIT_OK


def status_report(folder: str, accepted: dict, rejected: dict, candidates: list[FileStat]) -> str:
    """The accepted, pending and rejected files of a folder, as text.

    A file is pending when it matches the pattern but is neither accepted
    nor rejected yet: it has not stayed unchanged for `settle_seconds`, or
    the run has not polled since it landed.

    Example:

    >>> data = GrowingDataCallback("incoming/", label="price")
    >>> data.poll()
    >>> print(status_report(data.directory, data.accepted, data.rejected, data.watcher.candidates()))
    /data/incoming: 2 accepted (1500 rows), 1 pending, 1 rejected
    accepted  a.csv  1000 rows
    ...

    Args:
        folder: the watched folder.
        accepted: path -> `AcceptedFile`.
        rejected: path -> `RejectedFile`.
        candidates: the folder's matching files, from `FolderWatcher.candidates()`.
    """
    pending = [s for s in candidates if s.path not in accepted and s.path not in rejected]
    rows = sum(record.rows for record in accepted.values())
    backlog = f" ({sum(stat.size for stat in pending)} bytes)" if pending else ""
    lines = [
        f"{printable(folder)}: {len(accepted)} accepted ({rows} rows), "
        f"{len(pending)} pending{backlog}, {len(rejected)} rejected"
    ]
    table = []
    for path, record in accepted.items():
        skipped = len(record.skipped)
        note = f"{record.rows} rows" + (f", {skipped} bad rows skipped" if skipped else "")
        table.append(("accepted", _name(folder, path), note))
    for stat in pending:
        modified = time.strftime(", modified %Y-%m-%d %H:%M:%S", time.localtime(stat.mtime_ns / 1e9))
        table.append(
            ("pending", _name(folder, stat.path), f"{stat.size} bytes{modified if stat.mtime_ns else ''}")
        )
    for path, record in rejected.items():
        moved = f" (moved to {printable(record.moved_to)})" if record.moved_to else ""
        table.append(("rejected", _name(folder, path), record.reason + moved))
    if table:
        width = max(len(name) for _, name, _ in table)
        lines += [f"{state:<8}  {name:<{width}}  {note}" for state, name, note in table]
    return "\n".join(lines)


def _name(folder: str, path: str) -> str:
    """A path as seen from the watched folder (`dt=2026-12-01/part-0.csv`)."""
    return printable(relative_to(folder, path))
