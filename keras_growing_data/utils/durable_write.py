"""Writes files so that a crash or a full disk leaves the old version or the new one, never half of one."""

import contextlib
import errno
import os
import secrets
from collections.abc import Iterable

import tensorflow as tf

# The errors that say the disk (or a quota, or a file size limit) is full.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_local(path: str) -> bool:
    return "://" not in path


def is_no_space(error: BaseException) -> bool:
    """Whether an error says that there is no room left to write."""
    if isinstance(error, tf.errors.ResourceExhaustedError):
        return True
    return isinstance(error, OSError) and error.errno in NO_SPACE_ERRNOS


def write_atomically(path: str, data: bytes | Iterable[bytes | memoryview], durable: bool = True) -> None:
    """Writes under a temporary name of its own, flushed to disk, then renames over `path`.

    Locally, with `durable`, the data and the rename are flushed to the
    disk (`fsync` of the file, then of its folder), so a power cut cannot
    publish a name whose content never reached the disk; without, a reader
    still never sees a partial file. A failed write removes its temporary file.
    """
    partial = partial_path(path)
    pieces = [data] if isinstance(data, bytes) else data
    try:
        if is_local(path):
            with open(partial, "wb") as f:
                for piece in pieces:
                    f.write(piece)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(partial, path)
            # Published; a failed folder flush cannot take it back, so it is not an error here.
            with contextlib.suppress(OSError):
                if durable:
                    sync_folder(os.path.dirname(path))
        else:
            with tf.io.gfile.GFile(partial, "wb") as f:
                for piece in pieces:
                    f.write(bytes(piece))
            tf.io.gfile.rename(partial, path, overwrite=True)
    except BaseException:
        with contextlib.suppress(OSError, tf.errors.OpError):
            os.remove(partial) if is_local(path) else tf.io.gfile.remove(partial)
        raise


def append_durably(path: str, data: bytes | memoryview | Iterable[bytes | memoryview]) -> None:
    """Appends to a local file and flushes it to the disk once; a failed append leaves the file as it was."""
    pieces = [data] if isinstance(data, bytes | memoryview) else data
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            for piece in pieces:
                unwritten = memoryview(piece).cast("B")
                while unwritten:
                    unwritten = unwritten[os.write(fd, unwritten) :]
            os.fsync(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)  # A full disk may have taken part of it.
            raise
    finally:
        os.close(fd)


def partial_path(path: str) -> str:
    """A temporary name next to `path`, within the 255 bytes a file name may have."""
    folder, name = os.path.split(path)
    short = name.encode("utf-8", "surrogateescape")[:200].decode("utf-8", "surrogateescape")
    return os.path.join(folder, f"{short}.{secrets.token_hex(4)}.partial")


def sync_folder(folder: str) -> None:
    """Flushes a local folder's entries (new names, renames) to the disk."""
    fd = os.open(folder or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
