"""The hostile soak's producer: a tailed log that rotates and moves, finished files dropped beside it.

It writes only when asked (`step()`), between two of the trainer's epochs, so that what every file
held at each epoch boundary is known exactly: its `Ledger` keeps, per file (one inode), the paths
it had and the ids of its complete lines, step by step.
"""

import dataclasses
import datetime
import os
import random
import shutil
from bisect import bisect_right
from pathlib import Path

HEADER = "id,feature,label\n"
LOG_NAME = "app.csv"
MAX_EXACT_ID = 1 << 24  # Ids are read back as float32, exact up to 2^24.
FIRST_DAY = datetime.date(2026, 1, 1)


def write_atomically(path: Path, text: str) -> None:
    """Writes `text` to `path` by a rename, so that a reader sees all of it or the file before."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(text)
    os.replace(partial, path)


@dataclasses.dataclass
class Incarnation:
    """One life of a file between truncations: from `start` (a step), the ids of its complete lines."""

    start: int
    steps: list[int] = dataclasses.field(default_factory=list)
    ids: list[int] = dataclasses.field(default_factory=list)

    def ids_at(self, step: int) -> list[int]:
        """The ids of the lines complete at `step`."""
        return self.ids[: bisect_right(self.steps, step)]


@dataclasses.dataclass
class FileHistory:
    """One inode the producer made: its paths (each from a step on) and its incarnations."""

    paths: list[tuple[int, str]]
    incarnations: list[Incarnation]

    def path_at(self, step: int) -> str | None:
        """Its path at `step`, or `None` before it existed."""
        earlier = [path for since, path in self.paths if since <= step]
        return earlier[-1] if earlier else None

    def current_ids(self, step: int) -> list[int]:
        """The ids of the lines it held at `step` (its incarnation then)."""
        lives = [life for life in self.incarnations if life.start <= step]
        return lives[-1].ids_at(step) if lives else []

    def all_ids(self, step: int) -> list[int]:
        """The ids of every line it ever held up to `step`, over all its incarnations."""
        return [i for life in self.incarnations if life.start <= step for i in life.ids_at(step)]


@dataclasses.dataclass
class Ledger:
    """Everything the producer wrote: the files by inode, and where each complete id was written."""

    files: dict[int, FileHistory] = dataclasses.field(default_factory=dict)
    written: dict[int, int] = dataclasses.field(default_factory=dict)  # Id -> the step it was complete.
    rotations: dict[str, int] = dataclasses.field(default_factory=lambda: {"create": 0, "copytruncate": 0})
    moves: int = 0
    drops: int = 0
    partial_lines: int = 0
    logs: list[tuple[int, int]] = dataclasses.field(default_factory=list)  # (step, inode) of each live log.

    def by_path(self, path: str, step: int) -> FileHistory | None:
        """The file at `path` at `step`, else the last one that had that path before."""
        holders = [
            (since, f) for f in self.files.values() for since, p in f.paths if p == path and since <= step
        ]
        current = [f for _, f in holders if f.path_at(step) == path]
        if current:
            return current[0]
        return max(holders, key=lambda pair: pair[0])[1] if holders else None

    def paths_by(self, step: int) -> int:
        """How many paths the files had taken by `step` (each one a record a state may keep)."""
        return sum(since <= step for f in self.files.values() for since, _ in f.paths)

    def live_log(self, step: int) -> FileHistory:
        """The file that was the live log at `step`."""
        index = bisect_right(self.logs, (step, float("inf"))) - 1
        return self.files[self.logs[index][1]]


class LogProducer:
    """Writes the soak's folder one step at a time, and keeps its `Ledger`.

    Each step completes a partial last line left by the step before, rotates the live log every
    `rotate_every` steps (alternating logrotate's `create` and `copytruncate`), appends 0 to
    `max_lines` lines, sometimes leaves a partial last line, moves rotated files into a date folder
    (`dt=YYYY-MM-DD/`) `move_after` steps after their rotation, and now and then drops a finished
    file. Every line is `id,feature,label` with an id never used before.

    Args:
        folder: the watched folder; it is created.
        seed: seed of the random choices.
        rotate_every: steps between rotations.
        move_after: steps a rotated file stays beside the log before it moves into a date folder.
        drop_every: about one step in this many drops a finished file.
        max_lines: most lines appended to the log in one step.
    """

    def __init__(
        self,
        folder: Path,
        seed: int = 0,
        rotate_every: int = 10,
        move_after: int = 3,
        drop_every: int = 7,
        max_lines: int = 6,
    ):
        self.folder = folder
        self.random = random.Random(seed)
        self.rotate_every = rotate_every
        self.move_after = move_after
        self.drop_every = drop_every
        self.max_lines = max_lines
        self.ledger = Ledger()
        self.step_count = 0
        self.next_id = 1
        self.partial = None  # (id, the rest of its line) while the log ends in a partial line.
        self.to_move = []  # (step due, relative path) of rotated files.
        folder.mkdir(parents=True)
        self._new_log()

    def step(self) -> int:
        """Writes one step; returns its number (1, 2, ...)."""
        self.step_count += 1
        if self.partial is not None:
            self._complete_partial()
        if self.step_count % self.rotate_every == 0:
            self._rotate()
        for _ in range(self.random.randint(0, self.max_lines)):
            self._append_line()
        if self.random.random() < 0.3:
            self._start_partial()
        while self.to_move and self.to_move[0][0] <= self.step_count:
            self._move(self.to_move.pop(0)[1])
        if self.random.random() < 1 / self.drop_every:
            self._drop()
        return self.step_count

    # Lines ---------------------------------------------------------------------------------------

    def _line(self) -> tuple[int, str]:
        number = self.next_id
        if number >= MAX_EXACT_ID:
            raise RuntimeError(f"id {number} would not be exact in float32")
        self.next_id += 1
        feature = self.random.uniform(-1, 1)
        return number, f"{number},{feature:.5f},{2 * feature + 0.5:.5f}\n"

    def _append(self, text: str) -> None:
        with open(self.folder / LOG_NAME, "a") as log:
            log.write(text)

    def _complete(self, relative: str, number: int) -> None:
        history = self._history(relative)
        life = history.incarnations[-1]
        life.steps.append(self.step_count)
        life.ids.append(number)
        self.ledger.written[number] = self.step_count

    def _append_line(self) -> None:
        number, line = self._line()
        self._append(line)
        self._complete(LOG_NAME, number)

    def _start_partial(self) -> None:
        number, line = self._line()
        cut = self.random.randint(1, len(line) - 1)
        self._append(line[:cut])
        self.partial = (number, line[cut:])
        self.ledger.partial_lines += 1

    def _complete_partial(self) -> None:
        number, rest = self.partial
        self._append(rest)
        self._complete(LOG_NAME, number)
        self.partial = None

    # Files ---------------------------------------------------------------------------------------

    def _inode(self, relative: str) -> int:
        return os.stat(self.folder / relative).st_ino

    def _history(self, relative: str) -> FileHistory:
        return self.ledger.files[self._inode(relative)]

    def _register(self, relative: str) -> FileHistory:
        history = FileHistory([(self.step_count, relative)], [Incarnation(self.step_count)])
        self.ledger.files[self._inode(relative)] = history
        return history

    def _new_log(self) -> None:
        (self.folder / LOG_NAME).write_text(HEADER)
        self._register(LOG_NAME)
        self.ledger.logs.append((self.step_count, self._inode(LOG_NAME)))

    def _rotate(self) -> None:
        """logrotate's `create` (rename, new log) or `copytruncate` (copy, truncate in place)."""
        rotation = sum(self.ledger.rotations.values()) + 1
        rotated = f"app-{rotation}.csv"
        log = self._history(LOG_NAME)
        if rotation % 2:
            os.rename(self.folder / LOG_NAME, self.folder / rotated)
            log.paths.append((self.step_count, rotated))
            self._new_log()
            self.ledger.rotations["create"] += 1
        else:
            shutil.copyfile(self.folder / LOG_NAME, self.folder / rotated)
            copy = self._register(rotated)
            copy.incarnations[0].ids = list(log.current_ids(self.step_count))
            copy.incarnations[0].steps = [self.step_count] * len(copy.incarnations[0].ids)
            with open(self.folder / LOG_NAME, "r+") as truncated:
                truncated.truncate(0)
            log.incarnations.append(Incarnation(self.step_count))
            self._append(HEADER)
            self.ledger.rotations["copytruncate"] += 1
        self.to_move.append((self.step_count + self.move_after, rotated))

    def _date_folder(self, rotation_or_drop: int) -> str:
        return f"dt={FIRST_DAY + datetime.timedelta(days=rotation_or_drop // 3)}"

    def _move(self, relative: str) -> None:
        number = int(relative.split("-")[1].split(".")[0])
        moved = f"{self._date_folder(number)}/{relative}"
        (self.folder / moved).parent.mkdir(exist_ok=True)
        history = self._history(relative)
        os.rename(self.folder / relative, self.folder / moved)
        history.paths.append((self.step_count, moved))
        self.ledger.moves += 1

    def _drop(self) -> None:
        """A finished file, written elsewhere and renamed in, beside the log or in a date folder."""
        self.ledger.drops += 1
        name = f"drop-{self.ledger.drops}.csv"
        relative = name if self.random.random() < 0.5 else f"{self._date_folder(self.ledger.drops)}/{name}"
        lines = [self._line() for _ in range(self.random.randint(1, 5))]
        staging = self.folder.parent / "staging"
        staging.mkdir(exist_ok=True)
        (staging / name).write_text(HEADER + "".join(line for _, line in lines))
        (self.folder / relative).parent.mkdir(exist_ok=True)
        os.rename(staging / name, self.folder / relative)
        self._register(relative)
        for number, _ in lines:
            self._complete(relative, number)
