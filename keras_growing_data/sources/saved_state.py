"""Saving the ingest's state as it changes, and checking that a saved state fits the folder read now."""

import math
from collections.abc import Callable

import tensorflow as tf

from keras_growing_data.formats.file_format import FileFormat
from keras_growing_data.sources.disk_space import DiskSpace
from keras_growing_data.sources.manifest import Manifest


class SavedState:
    """The changes not yet saved in `state_dir`, written at each `save`; kept while the disk is full.

    The parts of the ingest add their changes (a file accepted, rejected or
    appended to, files that left training, an epoch's lineage) to `changes`;
    `save` appends them to the manifest's journal, which now and then
    rewrites its snapshot from the whole state.

    Example:

    >>> saved = SavedState(Manifest("state/"), DiskSpace())
    >>> saved.changes.append({"type": "leave", "first": 3})
    >>> saved.save(snapshot=ingest.get_state)

    Args:
        manifest: where the state is kept, or `None` (nothing is saved).
        space: notes a full disk.
    """

    def __init__(self, manifest: Manifest | None, space: DiskSpace):
        self.manifest = manifest
        self.space = space
        self.changes = []

    def save(self, snapshot: Callable[[], dict]) -> None:
        """Writes the changes not yet saved; with no room, keeps them for the next save."""
        if self.manifest is None or not self.changes:
            return
        try:
            if self.manifest.started:
                self.manifest.append(self.changes, snapshot=snapshot)
            else:
                self.manifest.start(snapshot())
        except (OSError, tf.errors.OpError) as e:
            self.space.state_waits(self.manifest.state_dir, e, len(self.changes))
            return
        self.changes.clear()
        self.manifest.rows.delete_released()
        self.space.writes_again()


def read_with(file_format: FileFormat, partition_columns: bool) -> dict:
    """The rules rows are read by, as saved: a restart must read by the same."""
    declared = file_format.declared
    rules = {
        "columns": None if declared is None else declared.to_json(),
        "defaults": {name: _json_value(v) for name, v in file_format.defaults.items()},
        "na_values": sorted(file_format.na_values),
    }
    if partition_columns:  # Only then, so that the states saved before it was an option still fit.
        rules["partition_columns"] = True
    return rules


def check_fits(state: dict, where: str, directory: str, labels: list[str], rules: dict) -> None:
    """Raises `ValueError` unless a saved state was written for this folder, labels and reading rules."""
    if state["directory"] != directory:
        raise ValueError(
            f"{where} was written for the folder {state['directory']!r}, "
            f"not {directory!r}; use another state_dir."
        )
    if state["labels"] != labels:
        raise ValueError(
            f"{where} was written for labels {state['labels']}, not {labels}; use another state_dir."
        )
    if state["read_with"] != rules:
        raise ValueError(
            f"{where} was written for columns, defaults and na_values "
            f"{state['read_with']}, not {rules}: its rows were read by other rules; "
            "use another state_dir."
        )


def _json_value(value) -> object:
    """A default as JSON keeps it: NaN, which JSON lacks, as a string."""
    return "NaN" if isinstance(value, float) and math.isnan(value) else value
