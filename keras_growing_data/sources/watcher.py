"""Finds the complete data files in a watched folder."""

import dataclasses
import fnmatch
import itertools
import logging
import os
import posixpath
import stat as stat_mode
import time
from collections.abc import Iterable, Sequence

import tensorflow as tf

from keras_growing_data.errors import UnreadableFileError
from keras_growing_data.formats import file_patterns
from keras_growing_data.sources.records import FileIdentity
from keras_growing_data.utils.arguments import check_bool, check_number, check_path, check_text
from keras_growing_data.utils.printable import printable, relative_to

logger = logging.getLogger("keras_growing_data")

TEMPORARY_SUFFIXES = (
    ".tmp",
    ".temp",
    ".part",
    ".partial",
    ".crdownload",
    ".download",
    ".swp",
    "~",
)


# Listing a folder costs ~0.5 us an entry (20,000 files: ~10 ms a poll); a
# listing is reused while the folder's own stat is unchanged and was already
# this old when listed, so that a change within the file system's timestamp
# granularity cannot hide behind an equal modification time.
LISTING_REUSE_AGE_NS = 2_000_000_000

KIND_OF_MODE = {
    stat_mode.S_IFIFO: "a named pipe (FIFO)",
    stat_mode.S_IFSOCK: "a socket",
    stat_mode.S_IFCHR: "a character device",
    stat_mode.S_IFBLK: "a block device",
}


@dataclasses.dataclass(frozen=True)
class FileStat(FileIdentity):
    """What a listing knows of one file: its path, size, modification time and identity.

    `inode`, `device` and `ctime_ns` tell a new version of a local file
    from the old one even when size and modification time are equal (a
    rename over it, `rsync -a`, `cp -p`); they are 0 where the file system
    does not say (URLs). `problem` says why a path that matches the pattern
    cannot be read as a file (a directory, a pipe, a broken link, a link out
    of the folder); it is then rejected rather than silently skipped.
    """

    path: str
    size: int
    mtime_ns: int
    problem: str | None = None


def canonical_folder(directory: str) -> str:
    """One spelling of a folder: a local path made absolute and normalised, a URL without a final `/`.

    So `incoming`, `./incoming/` and `/abs/incoming` list the same paths, and
    a run restarted under another spelling finds the files it accepted.
    """
    if "://" not in directory:
        return os.path.abspath(directory)
    scheme, path = directory.split("://", 1)
    return f"{scheme}://{path.rstrip('/') or path}"


def check_patterns(pattern) -> str | tuple[str, ...]:
    """The `pattern` argument: one non-empty `fnmatch` pattern, or a non-empty list of them (as a tuple)."""
    if isinstance(pattern, str):
        return check_text("pattern", pattern)
    if not isinstance(pattern, Sequence) or not pattern:
        raise TypeError(f"pattern must be a string or a non-empty list of strings, got {pattern!r}.")
    return tuple(check_text("pattern", p) for p in pattern)


def check_marker(commit_marker) -> str | None:
    """The `commit_marker` argument: `None`, or the name of a file (not a path)."""
    if commit_marker is None:
        return None
    name = check_text("commit_marker", commit_marker)
    if "/" in name or name in (".", ".."):
        raise ValueError(f"commit_marker must be a file name such as '_SUCCESS', not a path; got {name!r}.")
    return name


def is_temporary(name: str) -> bool:
    """Whether a file name marks a hidden or in-progress file."""
    return name.startswith((".", "_")) or name.lower().endswith(TEMPORARY_SUFFIXES)


# The names of every format's files, plain or compressed: `*.csv`, `*.csv.gz`, ..., `*.jsonl`, ...
DEFAULT_PATTERNS = file_patterns()


@dataclasses.dataclass
class _Listing:
    """One local folder as last listed: its stat then, when, its entries, and what they hold."""

    folder: tuple | None = None
    listed_at: int = 0
    names: set = dataclasses.field(default_factory=set)
    files: set = dataclasses.field(default_factory=set)  # Paths whose names match.
    folders: set = dataclasses.field(default_factory=set)  # Sub-folders, when recursive.
    committed: bool = False  # Whether it holds the commit marker.


class FolderWatcher:
    """Lists the files of a folder that match a pattern and have settled.

    A file has settled when it has not changed for `settle_seconds`: its
    modification time is at least that old, or (for file systems that report
    no modification time, such as TF's `ram://`) its size and time stayed the
    same across polls for that long. A file renamed into the folder keeps the
    modification time of its last write, so a producer that writes elsewhere
    and renames is picked up at the first poll once its content is that old;
    with `settle_seconds=0` at once.

    With `recursive`, sub-folders are watched too, at any depth (a tree of
    `dt=2026-12-01/part-0.csv.gz`), but never hidden or temporary ones (a
    leading `.` or `_`, such as `_rejected/` and Spark's `_temporary/`),
    symbolic links to folders, or the folders in `exclude`.

    With a `commit_marker` (Hadoop's and Spark's `_SUCCESS`), the files of
    a folder are complete only once that folder, or one above it up to the
    watched folder, holds a file of that name: an output committer writes
    it once every file of the job is in place. Until then they are listed
    (`candidates`) and not complete; `waiting_for_marker` says why.

    A URL's listing and stat go through `tf.io.gfile`, so any file system
    that TensorFlow reads (`gs://`, `s3://` with tensorflow-io, `hdfs://`)
    works; a local folder is listed with `os.listdir`, and only its new names are looked at.
    `files_looked_at` counts the files it looked at (a stat each): what a poll costs.

    Example:

    >>> watcher = FolderWatcher("incoming/", pattern="*.csv", recursive=True)
    >>> for stat in watcher.complete_files():
    ...     print(watcher.relative(stat.path), stat.size)

    Args:
        directory: the folder to watch: a local path (made absolute) or any
            URL that `tf.io.gfile` reads.
        pattern: `fnmatch` pattern of the file names to read, or a list of
            them. The default takes the files of every format, plain or
            compressed with gzip, bzip2 or xz (`*.csv`, `*.csv.gz`,
            `*.csv.bz2`, `*.csv.xz`, `*.jsonl`, ..., `*.ndjson`, ...,
            `*.parquet`: the formats' `suffixes`, Parquet's never
            compressed), read decompressing as they go. Hidden and
            temporary files (leading `.` or `_`, suffixes such as `.tmp`,
            `.part`, `.crdownload`) are never read.
        settle_seconds: how long a file must stay unchanged before it counts
            as complete.
        follow_symlinks: whether to read symbolic links that lead out of the
            folder; by default they are rejected.
        recursive: whether to watch the sub-folders too, at any depth (a
            date-partitioned tree such as `dt=2026-12-01/part-0.csv.gz`).
            Hidden and temporary folders (leading `.` or `_`, such as
            `_rejected/` and `_temporary/`), links to folders and
            `state_dir` are never read. Paths stay absolute in `accepted`;
            `EpochLineage.names` and `status` show them from the folder.
        exclude: folders never listed (a state folder inside the watched one).
        commit_marker: the name of the file whose presence in a folder (or
            one above it) makes that folder's files complete, such as
            `"_SUCCESS"`; `None` (the default): every settled file is.
    """

    def __init__(
        self,
        directory: str,
        pattern: str | Sequence[str] = DEFAULT_PATTERNS,
        settle_seconds: float = 1.0,
        follow_symlinks: bool = False,
        recursive: bool = False,
        exclude: Iterable[str] = (),
        commit_marker: str | None = None,
    ):
        self.directory = canonical_folder(check_path("directory", directory))
        self.pattern = check_patterns(pattern)
        self.settle_seconds = check_number("settle_seconds", settle_seconds, minimum=0)
        self.follow_symlinks = check_bool("follow_symlinks", follow_symlinks)
        self.recursive = check_bool("recursive", recursive)
        self.exclude = frozenset(canonical_folder(check_path("exclude", folder)) for folder in exclude)
        self.commit_marker = check_marker(commit_marker)
        self._patterns = (self.pattern,) if isinstance(self.pattern, str) else self.pattern
        self._local = "://" not in self.directory
        self._first_seen = {}
        self._unsettled = set()  # Paths seen last time that had not settled: looked at until they do.
        self.files_looked_at = 0  # How many stats of files this watcher made.
        self._listings = {}  # Local folder -> its `_Listing`.
        self._matched = set()  # The paths of every listed entry whose name matches.
        self._remote_committed = set()  # The folders of a URL that held the commit marker when listed.

    def exists(self) -> bool:
        if self._local:
            return os.path.isdir(self.directory)
        return tf.io.gfile.isdir(self.directory)

    def relative(self, path: str) -> str:
        """A listed path as seen from the watched folder: `dt=2026-12-01/part-0.csv`."""
        return relative_to(self.directory, path)

    def candidates(self, skip: Iterable[str] = (), recheck: Iterable[str] = ()) -> list[FileStat]:
        """Every regular file whose name matches, settled or not, committed or not, by path.

        Args:
            skip: paths to leave out unexamined (no stat), such as files already taken.
            recheck: paths of `skip` to examine all the same.
        """
        return self._stats(self._candidate_paths(skip, recheck))

    def _candidate_paths(self, skip: Iterable[str], recheck: Iterable[str]) -> set[str]:
        if not self.exists():
            return set()
        # Set operations, in C: a poll costs little per file left out.
        matched = self._matching()
        paths = matched.difference(skip)
        paths.update(matched.intersection(recheck))
        return paths

    def _stats(self, paths: Iterable[str]) -> list[FileStat]:
        """The stats of these paths, by path; none for a path gone."""
        stats = []
        for path in sorted(paths):
            stat = self._stat(path)
            if stat is not None:
                stats.append(stat)
        return stats

    def waiting_for_marker(self, path: str) -> str | None:
        """Why a listed file is not complete for want of the commit marker, or `None`.

        Example:

        >>> watcher = FolderWatcher("lake/events/", recursive=True, commit_marker="_SUCCESS")
        >>> watcher.waiting_for_marker(watcher.candidates()[0].path)
        'waiting for _SUCCESS in dt=2026-12-01/'
        """
        if self.commit_marker is None:
            return None
        folder = own_folder = posixpath.dirname(path)
        while folder.startswith(self.directory):
            if self._holds_marker(folder):
                return None
            if folder == self.directory:
                break
            folder = posixpath.dirname(folder)
        where = self.relative(own_folder) if own_folder != self.directory else printable(self.directory)
        return f"waiting for {self.commit_marker} in {where}/"

    def _holds_marker(self, folder: str) -> bool:
        """Whether a folder held the commit marker when it was last listed."""
        if not self._local:
            return folder in self._remote_committed
        listing = self._listings.get(folder)
        return listing is not None and listing.committed

    def _matching(self) -> set[str]:
        """The paths of the entries whose names match the pattern."""
        if not self._local:
            return self._remote_matching()
        # A loop, not recursion: a tree may be deeper than Python's recursion limit.
        folders = [self.directory]
        while folders:
            folder = folders.pop()
            folders.extend(self._relist(folder, top=folder == self.directory))
        return self._matched

    def _remote_matching(self) -> set[str]:
        """`_matching` of a URL, listed anew: `tf.io.gfile` has no cheap folder stat to reuse a listing by."""
        matched, folders = set(), [self.directory]
        self._remote_committed = set()
        while folders:
            folder = folders.pop()
            for entry in self._remote_entries(folder):
                name = entry.rstrip("/")
                path = posixpath.join(folder, name)
                if name == self.commit_marker:
                    self._remote_committed.add(folder)
                if is_temporary(name):
                    continue
                if self._matches(name):
                    matched.add(path)  # A folder so named is rejected as one, as when not recursive.
                # Object stores list folders with a final "/"; other names cost a stat to tell.
                elif (
                    self.recursive
                    and path not in self.exclude
                    and (entry.endswith("/") or tf.io.gfile.isdir(path))
                ):
                    folders.append(path)
        return matched

    def _remote_entries(self, folder: str) -> list[str]:
        """The entries of a folder of a URL; none for a sub-folder that cannot be listed now.

        Raises:
            tf.errors.OpError: the watched folder itself cannot be listed.
        """
        try:
            return tf.io.gfile.listdir(folder)
        except (tf.errors.OpError, OSError) as e:
            if folder == self.directory:
                raise  # The poll says it cannot list the folder.
            # Gone since its folder was listed, as its files are: nothing waits.
            if not isinstance(e, (tf.errors.NotFoundError, FileNotFoundError)):
                logger.warning(
                    "Cannot list %s now (%s): its files wait for a later poll", printable(folder), e
                )
            return []

    def _relist(self, folder: str, top: bool = False) -> list[str]:
        """Brings the listing of one local folder up to date; returns its sub-folders (when recursive)."""
        listing = self._listings.setdefault(folder, _Listing())
        try:
            info = os.stat(folder)
        except OSError:
            if top:
                raise  # The poll says it cannot list the folder.
            self._forget(folder)  # Gone, or unreadable: listed again once it is back.
            return []
        stat = (info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_size)
        # The ctime too, which no one can set back: a change after the listing always shows.
        fresh = listing.listed_at - max(info.st_mtime_ns, info.st_ctime_ns) >= LISTING_REUSE_AGE_NS
        if stat != listing.folder or not fresh:
            listing.folder, listing.listed_at = stat, time.time_ns()
            # `os.listdir` and set operations run in C: ~0.3 us an entry, against
            # ~2 us for `scandir` and a Python loop; only the names that came or
            # went since the last listing are looked at.
            try:
                names = set(os.listdir(folder))
            except OSError as e:
                if top:
                    raise
                logger.warning(
                    "Cannot list %s now (%s): its files wait for a later poll", printable(folder), e
                )
                self._forget(folder)
                return []
            if names != listing.names:
                self._update(folder, listing, names)
        return list(listing.folders)

    def _update(self, folder: str, listing: _Listing, names: set[str]) -> None:
        came, went = names - listing.names, listing.names - names
        listing.names = names
        listing.committed = self.commit_marker in names
        for name in went:
            path = posixpath.join(folder, name)
            if path in listing.folders:
                listing.folders.discard(path)
                self._forget(path)
            elif path in listing.files:
                listing.files.discard(path)
                self._matched.discard(path)
        for name in came:
            if is_temporary(name):
                continue
            path = posixpath.join(folder, name)
            if self.recursive and path not in self.exclude and _is_folder(path):
                listing.folders.add(path)
            elif self._matches(name):
                listing.files.add(path)
                self._matched.add(path)

    def _forget(self, folder: str) -> None:
        """Drops a folder's listing and its sub-folders': their files are no longer listed."""
        folders = [folder]
        while folders:
            listing = self._listings.pop(folders.pop(), None)
            if listing is not None:
                self._matched.difference_update(listing.files)
                folders.extend(listing.folders)

    def _matches(self, name: str) -> bool:
        return not is_temporary(name) and any(fnmatch.fnmatch(name, p) for p in self._patterns)

    def _stat(self, path: str) -> FileStat | None:
        self.files_looked_at += 1
        link_problem = self._link_problem(path)
        try:
            if not self._local:
                info = tf.io.gfile.stat(path)
                problem = "is a directory" if info.is_directory else None
                return FileStat(path, info.length, info.mtime_nsec, problem)
            info = os.stat(path)
        except (OSError, tf.errors.OpError):
            if link_problem:
                return FileStat(path, 0, 0, link_problem)
            return None  # Vanished between listing and stat.
        return FileStat(
            path,
            info.st_size,
            info.st_mtime_ns,
            _kind_problem(info.st_mode) or link_problem,
            inode=info.st_ino,
            device=info.st_dev,
            ctime_ns=info.st_ctime_ns,
        )

    def _link_problem(self, path: str) -> str | None:
        """Why a local symbolic link may not be read, if it may not."""
        if not self._local:
            return None  # Links are a local notion that `tf.io.gfile` does not expose.
        if not os.path.islink(path):
            return None
        target = os.path.realpath(path)
        if not os.path.exists(target):
            return f"is a broken symbolic link (to {target})"
        inside = os.path.realpath(self.directory) + os.sep
        if not self.follow_symlinks and not target.startswith(inside):
            return (
                f"is a symbolic link that leads out of the watched folder (to {target}); "
                "pass follow_symlinks=True to read such links"
            )
        return None

    def complete_files(self, skip: Iterable[str] = (), recheck: Iterable[str] = ()) -> list[FileStat]:
        """The matching files that have settled (and are committed, with a `commit_marker`), sorted by path.

        A file of `skip` that a recheck found not settled is examined at
        every call until it has settled.

        Args:
            skip: paths to leave out unexamined, such as files already taken.
            recheck: paths of `skip` to examine all the same.
        """
        now_ns = time.time_ns()
        now = time.monotonic()
        settle_ns = int(self.settle_seconds * 1e9)
        complete = []
        seen = {}
        paths = self._candidate_paths(skip, itertools.chain(recheck, self._unsettled))
        if self.commit_marker is not None:
            paths = [path for path in paths if self.waiting_for_marker(path) is None]
        for stat in self._stats(paths):
            if stat.problem:
                complete.append(stat)
                continue
            first_stat, first_time = self._first_seen.get(stat.path, (None, now))
            if first_stat != stat:
                first_time = now
            seen[stat.path] = (stat, first_time)
            old_enough = stat.mtime_ns > 0 and now_ns - latest_write_ns(stat) >= settle_ns
            if old_enough or now - first_time >= self.settle_seconds:
                complete.append(stat)
        self._first_seen = seen
        self._unsettled = seen.keys() - {stat.path for stat in complete}
        return complete

    @property
    def listed(self) -> list[FileStat]:
        """The regular files the last `complete_files` looked at, settled or not (not those it skipped)."""
        return [stat for stat, _ in self._first_seen.values()]

    def current(self, path: str) -> FileStat | None:
        """A fresh stat of one file, or None if it is gone.

        Raises:
            UnreadableFileError: the stat failed for another reason than the
                file being gone (an I/O error, a stale NFS handle): try later.
        """
        try:
            if self._local:
                os.stat(path)
            else:
                tf.io.gfile.stat(path)
        except (FileNotFoundError, tf.errors.NotFoundError):
            return None
        except (OSError, tf.errors.OpError) as e:
            raise UnreadableFileError(
                f"cannot be looked at now: {getattr(e, 'strerror', None) or e}"
            ) from None
        return self._stat(path)


def _kind_problem(mode: int) -> str | None:
    """Why a local entry is not a regular file, if it is not: nothing else is ever opened.

    Opening a named pipe blocks until a writer comes, so it is judged by its stat alone.
    """
    if stat_mode.S_ISREG(mode):
        return None
    if stat_mode.S_ISDIR(mode):
        return "is a directory"
    kind = KIND_OF_MODE.get(stat_mode.S_IFMT(mode), "a special file")
    return f"is {kind}, not a regular file; only regular files are read"


def _is_folder(path: str) -> bool:
    """Whether a local path is a folder itself, not a link to one (which could loop)."""
    try:
        return stat_mode.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def latest_write_ns(stat: FileStat) -> int:
    """The latest time the file may have been written, given its mtime.

    TF's local file system (which reads `file://` URLs) reports whole
    seconds (TF 2.21, `posix_file_system.cc`: `mtime_nsec = st_mtime * 1e9`),
    so a whole-second time may stand for any moment of that second.
    """
    if stat.mtime_ns % 1_000_000_000 == 0:
        return stat.mtime_ns + 1_000_000_000
    return stat.mtime_ns
