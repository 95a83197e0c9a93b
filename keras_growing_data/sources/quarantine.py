"""Moves a rejected file out of the watched folder, next to the reason it was rejected."""

import contextlib
import hashlib
import logging
import os
import posixpath

import tensorflow as tf

from keras_growing_data.utils.durable_write import is_local, write_atomically
from keras_growing_data.utils.printable import printable, relative_to

logger = logging.getLogger("keras_growing_data")

QUARANTINE_FOLDER = "_rejected"
REASON_SUFFIX = ".reason.txt"
# The longest file name most file systems take (ext4, XFS, APFS, NTFS: 255 bytes).
MAX_NAME_BYTES = 255


def quarantine_file(directory: str, path: str, reason: str) -> str | None:
    """Moves the regular file `path` to `_rejected/` in `directory`, its reason written beside it.

    A file of a sub-folder keeps its place below `_rejected/`
    (`_rejected/dt=2026-12-01/part-0.csv`), so equal names never collide.

    The reason file is written first, so a moved file always has one; if
    the move fails, it is removed again. Only a regular file is moved
    (not a directory that matches the pattern, nor a pipe).

    Returns:
        Where the file went, or None if it was not moved (logged).
    """
    below = posixpath.dirname(relative_to(directory, path)) if path.startswith(directory + "/") else ""
    folder = posixpath.join(directory, QUARANTINE_FOLDER, below).rstrip("/")
    target = posixpath.join(folder, posixpath.basename(path))
    reason_path = posixpath.join(folder, reason_file_name(posixpath.basename(path)))
    local = is_local(directory)
    try:
        if local and not os.path.isfile(path):
            logger.warning("Not moving %s to %s: it is not a regular file", printable(path), folder)
            return None
        os.makedirs(folder, exist_ok=True) if local else tf.io.gfile.makedirs(folder)
        write_atomically(reason_path, f"{path}: {reason}\n".encode("utf-8", "surrogateescape"))
        try:
            os.replace(path, target) if local else tf.io.gfile.rename(path, target, overwrite=True)
        except BaseException:
            with contextlib.suppress(OSError, tf.errors.OpError):
                os.remove(reason_path) if local else tf.io.gfile.remove(reason_path)
            raise
    except (OSError, tf.errors.OpError) as e:
        logger.warning("Could not move %s to %s: %s", printable(path), folder, getattr(e, "message", e))
        return None
    return target


def reason_file_name(name: str) -> str:
    """`<name>.reason.txt`, or, where that is too long a name, a shortened name with a hash of the whole."""
    full = name + REASON_SUFFIX
    encoded = full.encode("utf-8", "surrogateescape")
    if len(encoded) <= MAX_NAME_BYTES:
        return full
    digest = hashlib.sha1(encoded).hexdigest()[:12]
    room = MAX_NAME_BYTES - len(REASON_SUFFIX) - len(digest) - 1
    prefix = name.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "surrogateescape")
    return f"{prefix}-{digest}{REASON_SUFFIX}"
