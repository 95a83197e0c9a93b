"""The records ingest keeps of the files it judged, and how they are read back from a saved state."""

import dataclasses

from keras_growing_data.formats.bad_row import BadRow
from keras_growing_data.utils.printable import relative_to


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
    """A file set aside, with the reason a person can act on.

    `refused` says that the training-set policy refused it unread (a file
    older than a `Window`): it is judged again once the policy would take it.
    """

    path: str
    reason: str
    size: int
    mtime_ns: int
    moved_to: str | None = None
    refused: bool = False


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
    `drawn` is `None` when every row of `files` trained, else how the
    policy that chose fewer drew them (see `Lineage`).
    """

    files: tuple[str, ...]
    rows: int
    rows_skipped: int
    folder: str = dataclasses.field(default="", compare=False)
    files_left: int = 0
    drawn: dict | None = dataclasses.field(default=None, kw_only=True)

    @property
    def names(self) -> tuple[str, ...]:
        """The files as seen from the watched folder (`dt=2026-12-01/part-0.csv`)."""
        return tuple(relative_to(self.folder, path) for path in self.files)


# How a `Window`'s refusal begins, in a state saved before refusals were marked `refused`.
OLD_WINDOW_REFUSAL = "is older than the window"
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
    rejected = {
        item["path"]: RejectedFile(**{"refused": item["reason"].startswith(OLD_WINDOW_REFUSAL), **item})
        for item in state["rejected"]
    }
    return accepted, rejected
