"""The records ingest keeps of each file it judged, and the error that rejects a file."""

import dataclasses


class BadFileError(ValueError):
    """A file that cannot be ingested; the message says why."""


@dataclasses.dataclass(frozen=True)
class BadRow:
    """A line left out of a file read with `skip_bad_rows`, and why."""

    line: int
    reason: str


@dataclasses.dataclass(frozen=True)
class AcceptedFile:
    """A file whose rows joined training; `skipped` lists the lines left out, `ignored` the columns."""

    path: str
    rows: int
    size: int
    mtime_ns: int
    skipped: tuple[BadRow, ...] = ()
    ignored: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class RejectedFile:
    """A file set aside, with the reason a person can act on."""

    path: str
    reason: str
    size: int
    mtime_ns: int
    moved_to: str | None = None


@dataclasses.dataclass(frozen=True)
class EpochLineage:
    """What one epoch trained on: the accepted files, in order, and rows."""

    files: tuple[str, ...]
    rows: int
    rows_skipped: int


def records_of(state: dict) -> tuple[dict, dict]:
    """The accepted and rejected files of a saved state, by path."""
    accepted = {
        item["path"]: AcceptedFile(
            **{
                **item,
                "skipped": tuple(BadRow(**b) for b in item["skipped"]),
                "ignored": tuple(item["ignored"]),
            }
        )
        for item in state["accepted"]
    }
    rejected = {item["path"]: RejectedFile(**item) for item in state["rejected"]}
    return accepted, rejected
