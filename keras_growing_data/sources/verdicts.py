"""The verdict on each file version: accepted, rejected with its reason, or waiting to be tried again."""

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Sequence

from keras_growing_data.sources.quarantine import quarantine_file
from keras_growing_data.sources.records import AcceptedFile, RejectedFile, WaitingFile
from keras_growing_data.sources.watcher import FileStat
from keras_growing_data.utils.printable import printable

logger = logging.getLogger("keras_growing_data")

# Accepted files looked at again per poll, for the warning that one changed, and
# rejected ones left in place, to judge again one that changed.
RECHECKS_PER_POLL = 64
# A file that cannot be read now, or kept for want of space, is tried again
# after 1, 2, 4, ... seconds, at most this long.
MAX_RETRY_SECONDS = 300.0


class Verdicts:
    """Path -> the verdict on each file judged: `accepted`, `rejected` or `waiting`.

    A rejected file is judged again only once it changes, or, if the
    training-set policy refused it (`RejectedFile.refused`), once the policy
    would take it; a waiting one once its wait is over (1, 2, 4, ...
    seconds) or it changed. An accepted file is never read again: when it
    changes, a warning says so, once per version. A poll looks at the
    accepted and rejected files again `RECHECKS_PER_POLL` of each at a
    time, in turn (`rechecked`), so that its cost does not grow with them:
    a change shows within `ceil(files / RECHECKS_PER_POLL)` polls.

    Example:

    >>> verdicts = Verdicts("incoming/", on_bad_file="reject", changes=[])
    >>> verdicts.reject(stat, "has no header")
    >>> verdicts.rejected[stat.path].reason
    'has no header'

    Args:
        directory: the watched folder, where `_rejected/` is made.
        on_bad_file: `"reject"` or `"quarantine"` (see `FolderIngest`).
        changes: the list of state changes not yet saved, which a
            rejection is added to.
    """

    def __init__(self, directory: str, on_bad_file: str, changes: list[dict]):
        self.directory = directory
        self.on_bad_file = on_bad_file
        self.changes = changes
        self.accepted = {}
        self.rejected = {}
        self.waiting = {}
        # (device, inode) -> the path of the last accepted file of that identity, where there is one.
        self.by_identity = {}
        self._warned_changed = {}
        self._no_longer_read = set()  # Paths whose tail stopped with a warning: not warned about again.
        self._recheck_from = {"accepted": 0, "rejected": 0}
        self._rejected_in_turn = _InTurn()

    def is_new(
        self, stat: FileStat, now: float, refusal: Callable[[FileStat], str | None] | None = None
    ) -> bool:
        """Whether a listed file not accepted is to be judged: not this rejected version, and due.

        A version the policy refused is judged again once `refusal(stat)`, the
        policy's refusal now, is `None`: it would take it.
        """
        rejected = self.rejected.get(stat.path)
        if rejected is not None and rejected.version == stat.version:
            return rejected.refused and refusal is not None and refusal(stat) is None
        waiting = self.waiting.get(stat.path)
        return waiting is None or waiting.retry_at <= now or waiting.version != stat.version

    def forget_waiting(self, listed: set[str]) -> None:
        """Forgets the waits of files no longer listed: gone, or being written again."""
        for path in [path for path in self.waiting if path not in listed]:
            del self.waiting[path]

    def rechecked(self, accepted: Sequence[str]) -> list[str]:
        """The paths a poll looks at again: the next `RECHECKS_PER_POLL` accepted and rejected, in turn.

        Args:
            accepted: the accepted paths, in acceptance order.
        """
        return [*self._in_turn("accepted", accepted), *self._rejected_in_turn.take(RECHECKS_PER_POLL)]

    def _in_turn(self, verdict: str, paths: Sequence[str]) -> Sequence[str]:
        if len(paths) <= RECHECKS_PER_POLL:
            return paths
        start = self._recheck_from[verdict] % len(paths)
        stop = self._recheck_from[verdict] = start + RECHECKS_PER_POLL
        return paths[start:stop] + paths[: max(0, stop - len(paths))]

    def accept(self, record: AcceptedFile) -> None:
        self.accepted[record.path] = record
        self.waiting.pop(record.path, None)
        self.rejected.pop(record.path, None)
        self._rejected_in_turn.discard(record.path)
        if record.inode:
            self.by_identity[record.device, record.inode] = record.path

    def move(self, old: str, record: AcceptedFile) -> None:
        """Takes the record of an accepted file that moved to `record.path`, in its place in the order.

        The record may name another inode (a copy, see `CopiedFiles`): the old one no longer names it.
        """
        before = self.accepted[old]
        if self.by_identity.get((before.device, before.inode)) == old:
            del self.by_identity[before.device, before.inode]
        items = [
            (path, item) if path != old else (record.path, record) for path, item in self.accepted.items()
        ]
        self.accepted.clear()
        self.accepted.update(items)
        self.by_identity[record.device, record.inode] = record.path
        self.waiting.pop(record.path, None)
        self.rejected.pop(record.path, None)
        self._rejected_in_turn.discard(record.path)
        self._warned_changed.pop(old, None)
        self._no_longer_read.discard(old)

    def wait(self, stat: FileStat, reason: str, level: int) -> WaitingFile:
        """Sets a file aside for a while: it is tried again later, never rejected for this."""
        before = self.waiting.get(stat.path)
        attempts = 1 if before is None else before.attempts + 1
        delay = min(MAX_RETRY_SECONDS, 2.0 ** (attempts - 1))
        waiting = WaitingFile(stat.path, reason, attempts, time.monotonic() + delay, stat.version)
        self.waiting[stat.path] = waiting
        logger.log(
            level,
            "Cannot take %s now: %s; trying again in %g s (attempt %d)",
            printable(stat.path),
            reason,
            delay,
            attempts,
        )
        return waiting

    def reject(self, stat: FileStat, reason: str, quarantine: bool = True, refused: bool = False) -> None:
        """Sets a file aside; a file that changed while read is never moved (it is in flux).

        `refused`: the policy refused it unread (see `is_new`).
        """
        moved_to = None
        if quarantine and self.on_bad_file == "quarantine":
            moved_to = quarantine_file(self.directory, stat.path, reason)
        self.waiting.pop(stat.path, None)
        record = RejectedFile(
            stat.path,
            reason,
            stat.size,
            stat.mtime_ns,
            moved_to,
            refused,
            inode=stat.inode,
            device=stat.device,
            ctime_ns=stat.ctime_ns,
        )
        self.rejected[stat.path] = record
        self._rejected_in_turn.add(stat.path)
        self.changes.append({"type": "reject", "file": record_json(record)})
        where = f" (moved to {printable(moved_to)})" if moved_to else ""
        logger.warning("Rejected %s%s: %s", printable(stat.path), where, reason)

    def warn_if_changed(self, stat: FileStat) -> None:
        """Warns, once per version, that an accepted file is no longer the version read."""
        accepted = self.accepted[stat.path]
        if stat.version == accepted.version or self._warned_changed.get(stat.path) == stat:
            return
        if stat.path in self._no_longer_read:
            return
        self._warned_changed[stat.path] = stat
        logger.warning(
            "%s changed after it was accepted (or was replaced by another file); its %d accepted rows "
            "stay as they were and the change is not read (write new data to a new file)",
            printable(stat.path),
            accepted.rows,
        )

    def no_longer_read(self, path: str) -> None:
        """Notes that an accepted file is no longer tailed, which was warned about: its changes are not."""
        self._no_longer_read.add(path)

    def get_state(self) -> list[dict]:
        """The rejected files as saved; the accepted ones are saved with their rows (`FolderIngest`)."""
        return [record_json(record) for record in self.rejected.values()]

    def set_state(self, accepted: dict[str, AcceptedFile], rejected: dict[str, RejectedFile]) -> None:
        for record in accepted.values():
            self.accept(record)
        self.rejected = rejected
        self._rejected_in_turn = _InTurn(rejected)


class _InTurn:
    """Paths in the order they joined, taken a few at a time, in turn: each take costs what it takes.

    A path that leaves stays in the order, skipped, until the order holds
    more than twice the paths in it: then it is rebuilt, at a cost the
    leaving paths paid for.
    """

    def __init__(self, paths: Iterable[str] = ()):
        self._order = []  # The paths in the order they joined; one that left is skipped.
        self._at = {}  # Path -> its place in `_order`, for the paths in.
        self._next = 0  # The place in `_order` the next take starts at.
        for path in paths:
            self.add(path)

    def add(self, path: str) -> None:
        if path not in self._at:
            self._at[path] = len(self._order)
            self._order.append(path)

    def discard(self, path: str) -> None:
        if self._at.pop(path, None) is not None and len(self._order) > 2 * len(self._at) + RECHECKS_PER_POLL:
            self._compact()

    def take(self, count: int) -> list[str]:
        """The `count` paths after those taken last, going on from the first after the last; all if fewer."""
        if len(self._at) <= count:
            return [path for at, path in enumerate(self._order) if self._at.get(path) == at]
        taken, at = [], self._next
        while len(taken) < count:
            at %= len(self._order)
            if self._at.get(self._order[at]) == at:
                taken.append(self._order[at])
            at += 1
        self._next = at
        return taken

    def _compact(self) -> None:
        self._next = sum(self._at.get(path) == at for at, path in enumerate(self._order[: self._next]))
        self._order = [path for at, path in enumerate(self._order) if self._at.get(path) == at]
        self._at = {path: at for at, path in enumerate(self._order)}


def record_json(record: AcceptedFile | RejectedFile) -> dict:
    """A file's record as the state saves it."""
    return dataclasses.asdict(record)
