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
# Extensions kept with the one before them when a quarantined file is numbered: `export-2.csv.gz`.
COMPRESSION_EXTENSIONS = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4", ".lzma", ".z")
# The longest file name most file systems take (ext4, XFS, APFS, NTFS: 255 bytes).
MAX_NAME_BYTES = 255


def quarantine_file(directory: str, path: str, reason: str) -> str | None:
    """Moves the regular file `path` to `_rejected/` in `directory`, its reason written beside it.

    A file of a sub-folder keeps its place below `_rejected/`
    (`_rejected/dt=2026-12-01/part-0.csv`). Nothing there is overwritten: a
    later file of a name already quarantined (Tuesday's bad `export.csv`
    after Monday's) is numbered, `export-2.csv`, `export-3.csv`, ..., the
    number before its extension, with its own reason file.

    The reason file is written first, so a moved file always has one; if
    the move fails, it is removed again. Only a regular file is moved
    (not a directory that matches the pattern, nor a pipe).

    Returns:
        Where the file went, or None if it was not moved (logged).
    """
    below = posixpath.dirname(relative_to(directory, path)) if path.startswith(directory + "/") else ""
    folder = posixpath.join(directory, QUARANTINE_FOLDER, below).rstrip("/")
    local = is_local(directory)
    try:
        if local and not os.path.isfile(path):
            logger.warning("Not moving %s to %s: it is not a regular file", printable(path), folder)
            return None
        os.makedirs(folder, exist_ok=True) if local else tf.io.gfile.makedirs(folder)
        target, reason_path = _free_names(folder, posixpath.basename(path), local)
        # Not flushed to the disk: the journal keeps the reason durably, and two fsyncs a file were
        # 70% of quarantining (5.7 ms a file, 2 cores; 50,000 bad files took minutes).
        text = f"{path}: {reason}\n".encode("utf-8", "surrogateescape")
        write_atomically(reason_path, text, durable=False)
        try:
            # `target` was free a moment ago, and only the ingest writes `_rejected/`.
            os.replace(path, target) if local else tf.io.gfile.rename(path, target, overwrite=False)
        except BaseException:
            with contextlib.suppress(OSError, tf.errors.OpError):
                os.remove(reason_path) if local else tf.io.gfile.remove(reason_path)
            raise
    except (OSError, tf.errors.OpError) as e:
        logger.warning("Could not move %s to %s: %s", printable(path), folder, getattr(e, "message", e))
        return None
    return target


def _free_names(folder: str, name: str, local: bool) -> tuple[str, str]:
    """The first of `name`, `<stem>-2<ext>`, `<stem>-3<ext>`, ... free, and its reason file's name."""
    exists = os.path.lexists if local else tf.io.gfile.exists
    stem, extension = _split_extension(name)
    number = 1
    while True:
        candidate = name if number == 1 else _numbered(stem, number, extension)
        target = posixpath.join(folder, candidate)
        reason_path = posixpath.join(folder, reason_file_name(candidate))
        if not exists(target) and not exists(reason_path):
            return target, reason_path
        number += 1


def _split_extension(name: str) -> tuple[str, str]:
    """`export.csv` -> (`export`, `.csv`); a compression's extension goes with the one before it."""
    stem, extension = posixpath.splitext(name)
    if extension.lower() in COMPRESSION_EXTENSIONS:
        stem, inner = posixpath.splitext(stem)
        extension = inner + extension
    return stem, extension


def _numbered(stem: str, number: int, extension: str) -> str:
    """`<stem>-<number><extension>`, the stem shortened where the name would pass `MAX_NAME_BYTES`."""
    suffix = f"-{number}{extension}".encode("utf-8", "surrogateescape")
    room = MAX_NAME_BYTES - len(suffix)
    short = stem.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "surrogateescape")
    return short + suffix.decode("utf-8", "surrogateescape")


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
