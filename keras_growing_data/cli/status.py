"""`keras-growing-data status`: the accepted, pending and rejected files of a folder."""

import argparse
import logging
import time
from collections.abc import Callable

from keras_growing_data.cli.exit_codes import EXIT_OK, EXIT_REJECTED
from keras_growing_data.cli.file_names import shown_from
from keras_growing_data.cli.reading_options import NOT_FOR_STATUS, callback_options
from keras_growing_data.sources.manifest import Manifest
from keras_growing_data.sources.records import records_of
from keras_growing_data.sources.watcher import FileStat
from keras_growing_data.training.callback import GrowingDataCallback
from keras_growing_data.utils.printable import printable, relative_to


def run(args: argparse.Namespace) -> int:
    """Prints the report of `args.folder`; returns the exit code (1 if a file is rejected).

    Without a state folder (`--state-dir`, or `state_dir` in `--config`),
    the folder is judged by the poll of a `GrowingDataCallback` given the
    run's options (`reading_options`): the same verdicts and reasons as a
    training run's. It keeps no rows on disk and moves no file.
    """
    options = callback_options(args)
    data = GrowingDataCallback(
        args.folder, **{name: value for name, value in options.items() if name not in NOT_FOR_STATUS}
    )
    if not data.watcher.exists():
        raise FileNotFoundError(f"The folder {args.folder!r} does not exist.")
    state_dir = args.state_dir or options.get("state_dir")
    if state_dir is not None:
        accepted, rejected = _run_records(data.directory, state_dir)
    else:
        library_logger = logging.getLogger("keras_growing_data")
        level = library_logger.level
        library_logger.setLevel(logging.ERROR)  # The report says it all.
        try:
            data.poll()
        finally:
            library_logger.setLevel(level)
        accepted, rejected = data.accepted, data.rejected
    watcher = data.watcher
    print(status_report(data.directory, accepted, rejected, watcher.candidates(), watcher.waiting_for_marker))
    return EXIT_REJECTED if rejected else EXIT_OK


def _run_records(directory: str, state_dir: str) -> tuple[dict, dict]:
    """The accepted and rejected files of the run on `directory` that keeps its state in `state_dir`."""
    # Read-only: the run owns its state folder and may be writing to it.
    state = Manifest(state_dir).load()
    if state is None:
        raise FileNotFoundError(f"No saved state in {state_dir!r}: no run has saved state there.")
    if state["directory"] != directory:
        raise ValueError(
            f"{state_dir!r} holds the state of a run on {state['directory']!r}, not {directory!r}."
        )
    return records_of(state)


def status_report(
    folder: str,
    accepted: dict,
    rejected: dict,
    candidates: list[FileStat],
    waiting_for: Callable[[str], str | None] | None = None,
) -> str:
    """The accepted, pending and rejected files of a folder, as text.

    A file is pending when it matches the pattern but is neither accepted
    nor rejected yet: it has not stayed unchanged for `settle_seconds`, its
    folder has no commit marker yet (the reason says so), or the run has
    not polled since it landed.

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
        waiting_for: why a pending file waits, if it waits for something
            (`FolderWatcher.waiting_for_marker`), or `None`.
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
        note = f"{stat.size} bytes{modified if stat.mtime_ns else ''}"
        reason = None if waiting_for is None else waiting_for(stat.path)
        table.append(("pending", _name(folder, stat.path), note if reason is None else f"{reason}; {note}"))
    for path, record in rejected.items():
        moved = f" (moved to {printable(record.moved_to)})" if record.moved_to else ""
        table.append(("rejected", _name(folder, path), shown_from(folder, record.reason + moved)))
    if table:
        width = max(len(name) for _, name, _ in table)
        lines += [f"{state:<8}  {name:<{width}}  {note}" for state, name, note in table]
    return "\n".join(lines)


def _name(folder: str, path: str) -> str:
    """A path as seen from the watched folder (`dt=2026-12-01/part-0.csv`)."""
    return printable(relative_to(folder, path))
