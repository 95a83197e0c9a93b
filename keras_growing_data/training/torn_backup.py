"""Repairs a `BackupAndRestore` backup that a hard kill tore while Keras wrote it."""

import json
import logging
import os
import shutil

import keras

logger = logging.getLogger("keras_growing_data")


def repair_torn_backups(callbacks: list) -> None:
    """Puts back the previous backup of each `BackupAndRestore` whose metadata a kill tore.

    Keras 3.15.1's `BackupAndRestore._save_model` (`keras/src/callbacks/
    backup_and_restore.py`) writes `training_metadata.json` in place
    (truncated, then written), after the weights, so a SIGKILL between the
    two leaves it empty; at the restart `_load_model` raises
    `json.JSONDecodeError`, which `on_train_begin` does not take for a
    corrupt backup (it falls back to the `.bkp` copies only on `OSError`).
    A long run with hard kills met it after 4,989 epochs. With
    `double_checkpoint=True`, the previous epoch's weights and metadata,
    copied before the save began, are a consistent pair: they are put
    back, as Keras does for a corrupt weights file, and the run resumes
    from that epoch. Without them, a clear error says what to do.

    Example:

    >>> repair_torn_backups([keras.callbacks.BackupAndRestore("backup/", double_checkpoint=True)])

    Raises:
        ValueError: the metadata is torn and there is no previous backup.
    """
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.BackupAndRestore):
            continue
        metadata = callback._training_metadata_path
        if not os.path.exists(metadata) or _readable(metadata):
            continue
        previous = callback._prev_training_metadata_path
        if not (os.path.exists(previous) and _readable(previous)):
            raise ValueError(
                f"{metadata} is torn (a hard kill while Keras wrote it) and there is no previous backup "
                "to resume from (BackupAndRestore(double_checkpoint=True) keeps one). Move the "
                f"backup_dir {callback.backup_dir!r} away to start afresh."
            )
        shutil.copyfile(callback._prev_weights_path, callback._weights_path)
        shutil.copyfile(previous, metadata)
        logger.warning(
            "%s was torn (a hard kill while Keras wrote it): resuming from the previous epoch's backup",
            metadata,
        )


def _readable(path: str) -> bool:
    try:
        with open(path) as f:
            json.load(f)
    except ValueError:
        return False
    return True
