"""The records ingest keeps of the files it judged; the error that rejects a file, and how it quotes one."""

import dataclasses

# The most characters of a file's content a reason shows in one quote.
EXCERPT_CHARS = 40


class BadFileError(ValueError):
    """A file that cannot be ingested; the message says why."""


class NoDataRowsError(BadFileError):
    """A file with a header but no data row yet: a file that is tailed waits for one."""


class VanishedFileError(BadFileError):
    """A file that was deleted or renamed away while it was read."""


class TruncatedArchiveError(BadFileError):
    """An archive that ends before its end-of-stream marker: maybe still being written, so never moved."""


class UnreadableFileError(OSError):
    """A file that cannot be read now (permissions, I/O, the network): it is tried again later."""


class DamagedStateError(ValueError):
    """A state folder whose files do not match their records; the message names the file."""


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` as a reason quotes it: escaped as `repr` escapes, at most `limit` characters, then `…`.

    Every piece of a file a reason shows (a name, a value, a parser's
    message) goes through here, so a file that is not CSV (a link to
    `/etc/passwd`, a binary) never has more than a short excerpt echoed.
    """
    cut = min(len(text), limit)
    while len(repr(text[:cut])) > limit + 2:  # Escapes lengthen it; the quotes do not count.
        cut -= 1
    return repr(text[:cut]) + ("…" if cut < len(text) else "")


@dataclasses.dataclass(frozen=True)
class BadRow:
    """A line left out of a file read with `skip_bad_rows`, and why."""

    line: int
    reason: str


@dataclasses.dataclass(frozen=True)
class FileIdentity:
    """What tells two versions of a file of one size and modification time apart, where known.

    Locally its inode, device and ctime: a rename over the file, `rsync -a`
    or `cp -p` keep size and time but not these. 0 where the file system
    does not say (URLs). Subclasses have `size` and `mtime_ns`.
    """

    inode: int = dataclasses.field(default=0, kw_only=True)
    device: int = dataclasses.field(default=0, kw_only=True)
    ctime_ns: int = dataclasses.field(default=0, kw_only=True)

    @property
    def version(self) -> tuple[int, int, int, int, int]:
        """Everything that differs between two versions of a file at one path."""
        return (self.size, self.mtime_ns, self.inode, self.device, self.ctime_ns)


@dataclasses.dataclass(frozen=True)
class AcceptedFile(FileIdentity):
    """A file whose rows joined training; `skipped` lists the lines left out, `ignored` the columns."""

    path: str
    rows: int
    size: int
    mtime_ns: int
    skipped: tuple[BadRow, ...] = ()
    ignored: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class RejectedFile(FileIdentity):
    """A file set aside, with the reason a person can act on."""

    path: str
    reason: str
    size: int
    mtime_ns: int
    moved_to: str | None = None


@dataclasses.dataclass(frozen=True)
class WaitingFile:
    """A file that could not be taken for now (it cannot be read, or the disk is full); tried again.

    `retry_at` is the `time.monotonic()` of the next try.
    """

    path: str
    reason: str
    attempts: int
    retry_at: float
    version: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class EpochLineage:
    """What one epoch trained on: the accepted files, in order, and rows.

    `files` are the paths as in `accepted`; `names` the same seen from the
    watched `folder` (`dt=2026-12-01/part-0.csv`). With a `Window`,
    `files_left` accepted files had left training before the epoch.
    """

    files: tuple[str, ...]
    rows: int
    rows_skipped: int
    folder: str = dataclasses.field(default="", compare=False)
    files_left: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        """The files as seen from the watched folder (`dt=2026-12-01/part-0.csv`)."""
        return tuple(relative_to(self.folder, path) for path in self.files)


# What a saved accepted file holds besides its record: where its rows are, and how far it was tailed.
STATE_ONLY_KEYS = ("rows_ref", "appends", "tail")


def records_of(state: dict) -> tuple[dict, dict]:
    """The accepted and rejected files of a saved state, by path."""
    accepted = {
        item["path"]: AcceptedFile(
            **{
                **{key: value for key, value in item.items() if key not in STATE_ONLY_KEYS},
                "skipped": tuple(BadRow(**b) for b in item["skipped"]),
                "ignored": tuple(item["ignored"]),
            }
        )
        for item in state["accepted"]
    }
    rejected = {item["path"]: RejectedFile(**item) for item in state["rejected"]}
    return accepted, rejected


def relative_to(folder: str, path: str) -> str:
    """A path below `folder` as seen from it (`dt=2026-12-01/part-0.csv`); any other path as it is."""
    return path[len(folder) + 1 :] if path.startswith(folder + "/") else path


def printable(path: str) -> str:
    """A path as it can be printed: bytes that are not UTF-8 (kept by `os` as surrogates) escaped."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
