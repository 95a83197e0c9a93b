"""The accepted files in order, which of them train, and where each one's rows are kept."""

import logging
import math
from collections.abc import Mapping, Sequence

from keras_growing_data.errors import DamagedStateError
from keras_growing_data.formats.schema import Schema
from keras_growing_data.sources.column_vocabularies import ColumnVocabularies
from keras_growing_data.sources.records import AcceptedFile
from keras_growing_data.sources.rows_log import RowsLog
from keras_growing_data.sources.training_set import latest_plausible_ns
from keras_growing_data.storage.disk_store import DiskRowStore
from keras_growing_data.storage.row_store import RowStore
from keras_growing_data.utils.printable import printable
from keras_growing_data.utils.scratch_arrays import ScratchArrays

logger = logging.getLogger("keras_growing_data")

# Rows a restart reads at once into a disk store.
RESTORE_BATCH_BYTES = 256 << 20


class TrainingFiles:
    """The accepted files in acceptance order; those from the `first` on train, their rows in the store.

    Each file's rows are one piece of the store, and one more per batch of
    lines appended to it (`appends="tail"`); with `state_dir`, each piece is
    also written to the rows log, so that a restart reads it back instead
    of the file. Files leave training, all their pieces at once, when the
    training-set policy says so: mostly the oldest, but a file written to
    recently may stay while files accepted after it leave (`Window(seconds=)`
    with a tailed log); the few files before `first` that stay are `kept`.

    Example:

    >>> files = TrainingFiles(MemoryRowStore(), ColumnVocabularies())
    >>> ref, new_strings = files.add(record, parsed, schema, end=record.size)
    >>> files.in_training
    ['incoming/a.csv']

    Args:
        store: keeps the rows that train.
        vocabularies: the string columns' vocabularies, which rows are renumbered into.
        rows_log: where rows are saved for a restart (`state_dir`), or `None`.
        tailing: whether files are tailed: then `piece_ends` lists each piece.
    """

    def __init__(
        self,
        store: RowStore,
        vocabularies: ColumnVocabularies,
        rows_log: RowsLog | None = None,
        tailing: bool = False,
    ):
        self.store = store
        self.vocabularies = vocabularies
        self.rows_log = rows_log
        self.tailing = tailing
        self.paths = []  # Every accepted file, in acceptance order.
        self.first = 0  # The first still in training: those before left it, but the `kept`.
        self.kept = []  # The indexes before `first` of the files that still train, in order.
        self.rows_skipped = 0  # Bad rows skipped in the files in training.
        self._newest = (0, None)  # (mtime_ns, path) of the newest file that joined, not dated ahead.
        self._dated_ahead = {}  # Path -> mtime_ns of the files that joined dated in the future.
        # With tailing, the store's pieces in order, as (path, end offset, rows): what a follower reproduces.
        self.piece_ends = []
        self._pieces_of = {}
        self._rows_refs = {}
        # Where rows are written: the last write went, or failed, there.
        self.writing_to = rows_log.folder if rows_log is not None else getattr(store, "folder", "memory")

    @property
    def in_training(self) -> list[str]:
        return [self.paths[i] for i in self.kept] + self.paths[self.first :]

    @property
    def files_left(self) -> int:
        """How many accepted files left training."""
        return self.first - len(self.kept)

    @property
    def newest_mtime_ns(self) -> int:
        """The modification time of the newest file that joined, 0 before any.

        A file dated in the future of this machine's clock (`latest_plausible_ns`)
        counts only once the clock reaches its time: a wrong clock that wrote
        one file cannot make every other file old.
        """
        return self._newest_now()[0]

    @property
    def newest_path(self) -> str | None:
        """The file whose time `newest_mtime_ns` is."""
        return self._newest_now()[1]

    def scratch(self) -> ScratchArrays | None:
        """Where a file's rows go as they are parsed: files in a disk store's folder; `None` for memory.

        The store takes those files over (`DiskRowStore`); the caller removes
        what is left of them once the file is judged.
        """
        return ScratchArrays(self.store.folder) if isinstance(self.store, DiskRowStore) else None

    def add(self, record: AcceptedFile, parsed, schema: Schema, end: int) -> tuple[dict | None, dict]:
        """Keeps an accepted file's rows (`parsed`, read up to byte `end`) as a piece that trains.

        Returns where they are saved (`None` without a rows log) and the
        strings new to the vocabularies. If a write fails (a full disk),
        nothing is kept, `writing_to` says where, and the error goes on.
        """
        rows_ref, [*pieces], new_strings = self._keep(parsed, schema, end)
        self.paths.append(record.path)
        self._pieces_of[record.path] = pieces
        self._rows_refs[record.path] = [rows_ref]
        self._note(record.path, end, parsed.num_rows, len(record.skipped), record.mtime_ns)
        return rows_ref, new_strings

    def add_appended(
        self, path: str, parsed, schema: Schema, end: int, mtime_ns: int
    ) -> tuple[dict | None, dict]:
        """Keeps the rows appended to a file in training, up to byte `end`, as a piece of its own.

        `parsed` holds one row at least; skipped lines that gave none are
        counted with `note_skipped`.
        """
        rows_ref, [piece], new_strings = self._keep(parsed, schema, end)
        self._pieces_of[path].append(piece)
        self._rows_refs[path].append(rows_ref)
        self._note(path, end, parsed.num_rows, len(parsed.skipped), mtime_ns)
        return rows_ref, new_strings

    def note_skipped(self, path: str, rows: int, mtime_ns: int) -> None:
        """Counts bad rows skipped in lines appended to a file in training that gave no good row."""
        self.rows_skipped += rows
        self._note_time(path, mtime_ns)

    def add_left(self, path: str) -> None:
        """Counts a file accepted elsewhere that left training before it was read here (a follower)."""
        self.paths.append(path)

    def leave_before(self, first: int, accepted: Mapping[str, AcceptedFile]) -> list[str]:
        """Takes the files before the `first` out of training, their rows freed; returns those that left."""
        if first <= self.first:
            return []
        return self._leave([*self.kept, *range(self.first, first)], first, [], accepted)

    def leave(self, positions: Sequence[int], accepted: Mapping[str, AcceptedFile]) -> list[str]:
        """Takes the files at these positions of `in_training` out of training; returns those that left."""
        if not positions:
            return []
        indexes = [*self.kept, *range(self.first, len(self.paths))]
        leaving = sorted(indexes[position] for position in positions)
        first = max(self.first, leaving[-1] + 1)
        gone = set(leaving)
        kept = [i for i in indexes if i < first and i not in gone]
        return self._leave(leaving, first, kept, accepted)

    def _leave(
        self, indexes: list[int], first: int, kept: list[int], accepted: Mapping[str, AcceptedFile]
    ) -> list[str]:
        leaving = [self.paths[i] for i in indexes]
        self.store.drop([piece for path in leaving for piece in self._pieces_of.get(path, ())])
        for path in leaving:
            if self._pieces_of.pop(path, None) is not None:
                self.rows_skipped -= len(accepted[path].skipped)
        if self.rows_log is not None:
            self.rows_log.release(ref for path in leaving for ref in self._rows_refs.pop(path, ()))
        if self.piece_ends:
            gone = set(leaving)
            self.piece_ends = [piece for piece in self.piece_ends if piece[0] not in gone]
        self.first, self.kept = first, kept
        return leaving

    def rename(self, old: str, new: str) -> None:
        """Follows an accepted file that moved from `old` to `new`: its place, pieces and rows stay."""
        self.paths[self.paths.index(old)] = new  # A move is rare: one look through the paths.
        for by_path in (self._pieces_of, self._rows_refs):
            if old in by_path:
                by_path[new] = by_path.pop(old)
        self.piece_ends = [(new if path == old else path, end, rows) for path, end, rows in self.piece_ends]

    def saved(self, path: str) -> dict:
        """Where a file's rows are saved, as the state keeps it with its record."""
        refs = self._rows_refs.get(path) or [None]
        return {"rows_ref": refs[0], "appends": refs[1:]} if len(refs) > 1 else {"rows_ref": refs[0]}

    def set_state(
        self,
        saved: list[dict],
        first: int,
        accepted: Mapping[str, AcceptedFile],
        schema: Schema,
        where: str,
        kept: Sequence[int] = (),
    ) -> None:
        """Reads back the rows of the files in training, as `saved` (each file as `saved` gave) says.

        Raises `DamagedStateError` when a file in training has no saved rows,
        or not as many as its record says.
        """
        self.paths.extend(item["path"] for item in saved)
        self.first, self.kept = first, list(kept)
        for item in [saved[i] for i in kept] + saved[first:]:
            if item["rows_ref"] is None:
                raise DamagedStateError(
                    f"{where} records no saved rows for {item['path']}, which is in training: the state "
                    "cannot be trusted. Move the state_dir away to start afresh."
                )
            self._rows_refs[item["path"]] = [item["rows_ref"], *item.get("appends", ())]
            self._pieces_of[item["path"]] = []
        # In the order they were written, which is the order they joined the store.
        pieces = sorted(
            ((path, ref) for path, refs in self._rows_refs.items() for ref in refs),
            key=lambda piece: (int(piece[1]["segment"].split(".")[0]), piece[1]["offset"]),
        )
        for batch in self._restore_batches(pieces):
            self._restore_rows(batch, accepted, schema)
        for path in self.in_training:
            record = accepted[path]
            rows = sum(ref["arrays"][0][2] for ref in self._rows_refs[path])
            if rows != record.rows:
                raise DamagedStateError(
                    f"The saved rows of {path} hold {rows} rows, its record {record.rows}: "
                    "the state cannot be trusted. Move the state_dir away to start afresh."
                )
            self.rows_skipped += len(record.skipped)
            self._note_time(path, record.mtime_ns)
        self.rows_log.keep_only(ref for _, ref in pieces)

    def _keep(self, parsed, schema: Schema, end: int) -> tuple[dict | None, list[int], dict]:
        rows_ref = None
        try:
            if self.rows_log is not None:
                self.writing_to = self.rows_log.folder
                rows_ref = {**self.rows_log.write(parsed.arrays, parsed.strings), "end": end}
            self.writing_to = getattr(self.store, "folder", "memory")
            pieces, new_strings = self.vocabularies.keep(schema, parsed.arrays, parsed.strings, self._store)
        except BaseException:
            if rows_ref is not None:
                self.rows_log.discard(rows_ref)  # Else each retry would keep another copy.
            raise
        return rows_ref, pieces, new_strings

    def _store(self, arrays: dict) -> list[int]:
        return self.store.append(arrays, owned=True)

    def _note(self, path: str, end: int, rows: int, skipped: int, mtime_ns: int) -> None:
        if self.tailing:
            self.piece_ends.append((path, end, rows))
        self.rows_skipped += skipped
        self._note_time(path, mtime_ns)

    def _note_time(self, path: str, mtime_ns: int) -> None:
        """Takes a joining file's time as the newest, or, dated ahead, sets it aside with a warning."""
        ahead_ns = mtime_ns - latest_plausible_ns()
        if ahead_ns <= 0:
            self._newest = max(self._newest, (mtime_ns, path), key=lambda newest: newest[0])
            return
        if path not in self._dated_ahead:
            logger.warning(
                "%s was last modified %s ahead of this machine's clock (the clock that wrote it is "
                "wrong, or this one was set back): it trains, but a window measures time from the newest "
                "file that is not dated ahead, until the clock reaches its time",
                printable(path),
                _duration(ahead_ns),
            )
        self._dated_ahead[path] = mtime_ns

    def _newest_now(self) -> tuple[int, str | None]:
        """`_newest`, with the files dated ahead whose time the clock has reached since."""
        if self._dated_ahead:
            latest = latest_plausible_ns()
            for path, mtime_ns in list(self._dated_ahead.items()):
                if mtime_ns <= latest:
                    del self._dated_ahead[path]
                    self._newest = max(self._newest, (mtime_ns, path), key=lambda newest: newest[0])
        return self._newest

    def _restore_batches(self, pieces: list[tuple[str, dict]]) -> list[list[tuple[str, dict]]]:
        """The saved pieces of rows, `(path, ref)`, in groups that are read and stored at once.

        In memory, one group: a restart at 100k files takes seconds. On disk,
        groups of `RESTORE_BATCH_BYTES`, so that restoring needs no more memory
        than that, however large the rows.
        """
        if not isinstance(self.store, DiskRowStore):
            return [pieces] if pieces else []
        batches, size = [], math.inf
        for piece in pieces:
            if size >= RESTORE_BATCH_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(piece)
            size += piece[1]["bytes"]
        return batches

    def _restore_rows(
        self, pieces: list[tuple[str, dict]], accepted: Mapping[str, AcceptedFile], schema: Schema
    ) -> None:
        """Reads, checks and stores these saved pieces of rows, in one read and one append."""
        arrays, read = self.rows_log.read_all(pieces)
        start = 0
        for rows, strings in read:
            if "string" in arrays:
                self.vocabularies.renumber(schema, arrays["string"][start : start + rows], strings)
            start += rows
        ids = self.store.append(arrays, owned=True, pieces=[rows for rows, _ in read])
        for (path, ref), piece in zip(pieces, ids, strict=True):
            self._pieces_of[path].append(piece)
            if self.tailing:
                # A file accepted before it was tailed was read whole.
                end = ref.get("end", accepted[path].size)
                self.piece_ends.append((path, end, ref["arrays"][0][2]))


def _duration(nanoseconds: int) -> str:
    """A duration for a person: `3.2 days`, `5.5 hours`, `12 minutes`."""
    seconds = nanoseconds / 1e9
    for unit, length in (("days", 86400), ("hours", 3600)):
        if seconds >= length:
            return f"{seconds / length:.3g} {unit}"
    return f"{seconds / 60:.3g} minutes"
