"""An exclusive lock on a local file, held until released or until the process ends."""

import contextlib
import datetime
import fcntl
import os
import socket
import weakref

# The locks this process holds, by real path: a second lock on the same file
# in this process takes it over (a notebook cell run again makes a new object
# before the old one is dropped).
_HELD: "weakref.WeakValueDictionary[str, FileLock]" = weakref.WeakValueDictionary()


class FileLock:
    """A `flock` on a local file, which names its holder (process, host, since when).

    The kernel releases it when the process ends, however it ends, so a
    lock that can be taken means its last holder is gone.

    Example:

    >>> lock = FileLock("state/lock")
    >>> lock.acquire() or print("in use by", lock.holder())

    Args:
        path: the lock file; created if missing.
    """

    def __init__(self, path: str):
        self.path = path
        self._fd = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock (another one in this process may have taken it over)."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Takes the lock if no other process holds it; returns whether it did."""
        key = os.path.realpath(self.path)
        previous = _HELD.get(key)
        if previous is not None and previous.held:
            self._fd, previous._fd = previous._fd, None
        else:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
        os.ftruncate(self._fd, 0)
        since = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        os.pwrite(self._fd, f"pid {os.getpid()} on {socket.gethostname()} since {since}\n".encode(), 0)
        _HELD[key] = self
        return True

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it."""
        with contextlib.suppress(OSError), open(self.path) as f:
            return f.read().strip() or "another process"
        return "another process"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        self.release()


def held_by_nobody(path: str) -> bool:
    """Whether the lock file at `path` exists and no process holds it (its holder is gone)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True
