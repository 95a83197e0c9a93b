"""A line left out of a file, and why: what a format reports of each bad row it skips."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class BadRow:
    """A line left out of a file read with `skip_bad_rows`, and why."""

    line: int
    reason: str
