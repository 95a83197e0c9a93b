"""Coordinates the ingest of a folder: each poll, the files judged, what leaves training, the state saved."""

import itertools
import logging
import time
from collections.abc import Callable, Collection, Sequence

import tensorflow as tf

from keras_growing_data.formats.schema import Schema
from keras_growing_data.sources.column_vocabularies import ColumnVocabularies
from keras_growing_data.sources.copied_files import CopiedFiles
from keras_growing_data.sources.disk_space import DiskSpace
from keras_growing_data.sources.file_judge import FileJudge
from keras_growing_data.sources.ingest_progress import REPORTED_FILES, IngestProgress
from keras_growing_data.sources.lineage import Lineage
from keras_growing_data.sources.records import AcceptedFile, EpochLineage, records_of
from keras_growing_data.sources.same_files import SameFiles
from keras_growing_data.sources.saved_state import SavedState, check_fits, read_with
from keras_growing_data.sources.tail import TailState
from keras_growing_data.sources.tailed_files import TailedFiles
from keras_growing_data.sources.training_files import TrainingFiles
from keras_growing_data.sources.training_set import FilesInTraining
from keras_growing_data.sources.verdicts import Verdicts, record_json
from keras_growing_data.sources.watcher import FileStat
from keras_growing_data.utils.arguments import check_bool, check_choice
from keras_growing_data.utils.printable import printable
from keras_growing_data.utils.process_memory import release_parse_memory

logger = logging.getLogger("keras_growing_data")


class FolderIngest:
    """Ingests the complete files of a folder into a `RowStore`, each once.

    Each poll asks the watcher for complete files and reads the new ones. A
    file is accepted whole, or rejected whole with its reason (logged as a
    warning); a rejected file is judged again only once it changes. An
    accepted file is never read again: if it changes, a warning says so and
    its rows stay as they were. With `state_dir`, all of this, the parsed
    rows and each epoch's lineage survive a crash and a restart.

    `FolderIngest` coordinates the parts it is handed (`IngestParts`,
    built from `GrowingDataCallback`'s arguments by `build_ingest` in
    `sources/ingest_parts.py`, whose table says which part owns each
    argument) and keeps the rules of its verdicts. It makes the parts
    that hold what it learns, each saving and restoring its own state:
    `Verdicts` (the verdict on each file), `TrainingFiles` (the accepted
    files in order, which train, where their rows are), `TailedFiles`
    (how far each tailed file was read), `ColumnVocabularies`, `Lineage`
    and `SavedState` (the changes not yet written to `state_dir`).

    Example:

    >>> ingest = FolderIngest(ingest_parts("incoming/", label="price", settle_seconds=0))
    >>> ingest.poll()
    ['incoming/part-0.csv']
    >>> ingest.num_rows, ingest.rejected

    Args:
        parts: the watcher, format, store, training-set policy and
            manifest (`None`: no state across restarts).
        on_bad_file: `"reject"` (keep a bad file in `rejected`, log a
            warning) or `"quarantine"` (also move it to `_rejected/` in the
            folder, with a `.reason.txt` file beside it; only a regular file
            whose content is bad is moved).
        on_bad_row: `"reject"` rejects a file with any bad line; `"skip"`
            keeps its good lines, records each bad one (see
            `AcceptedFile.skipped`) and counts them in the epoch logs
            (`rows_skipped`).
        partition_columns: whether Hive-style folder names give columns: a
            file in `dt=2026-12-01/hour=03/` gets the columns `dt` and
            `hour`, the same value in every row (unescaped as Hive writes
            them: `%20` is a space). They are typed like any column
            (declared in `columns`, or inferred from the first file: `hour`
            float32, `dt` string) and may not be in the file as well.
        appends: what happens when lines are appended to an accepted file
            (a logger writing one file a day). `"warn"` (default): a
            warning says the change is not read; the file's rows stay as
            they were. `"tail"`: every complete new line joins at the next
            epoch boundary, exactly once, read from the byte where the last
            read stopped (nothing is read twice); a partial last line waits
            until its newline comes. A file that shrinks, is replaced, or
            whose part already read changes is warned about, keeps its rows
            and is no longer tailed; so is one with a bad new line (with
            `on_bad_row="skip"`, the bad line is skipped instead). Plain
            local files are tailed; a compressed file is read once. The
            offsets survive a restart with `state_dir`.
    """

    def __init__(
        self,
        parts,
        on_bad_file: str = "reject",
        on_bad_row: str = "reject",
        partition_columns: bool = False,
        appends: str = "warn",
    ):
        self.watcher = parts.watcher
        self.directory = self.watcher.directory
        self.format = parts.file_format
        self.store = parts.store
        self.policy = parts.policy
        self.manifest = parts.manifest
        self.on_bad_file = check_choice("on_bad_file", on_bad_file, ("reject", "quarantine"))
        self.on_bad_row = check_choice("on_bad_row", on_bad_row, ("reject", "skip"))
        self.partition_columns = check_bool("partition_columns", partition_columns)
        self.appends = check_choice("appends", appends, ("warn", "tail"))
        self.vocabularies = ColumnVocabularies()
        self.space = DiskSpace()
        self.saved_state = SavedState(self.manifest, self.space)
        changes = self.saved_state.changes
        self.verdicts = Verdicts(self.directory, self.on_bad_file, changes)
        rows_log = None if self.manifest is None else self.manifest.rows
        self.files = TrainingFiles(self.store, self.vocabularies, rows_log, tailing=self.appends == "tail")
        self.tailed = TailedFiles(self.format, self.watcher, self.files, self.verdicts, changes, self.space)
        self.same = SameFiles(self.watcher, self.verdicts, self.files, self.tailed, changes)
        self.copies = CopiedFiles(self.watcher, self.verdicts, self.files, self.tailed, changes)
        self.judge = FileJudge(
            self.format,
            self.watcher,
            self.policy,
            self.verdicts,
            self.files,
            self.tailed,
            changes,
            self.space,
            self.on_bad_row,
            self.partition_columns,
            self.appends,
        )
        self.lineage = Lineage(self.files.paths, self.directory)
        self.pending = {}
        self._report = None  # The progress of reading a backlog, until it is read.
        # (rows, files, files_left) in training as restored from `state_dir`, if a state was restored.
        self.restored = None
        if self.manifest is not None:
            self.manifest.open_for_writing()
            self._restore()

    @property
    def accepted(self) -> dict[str, AcceptedFile]:
        return self.verdicts.accepted

    @property
    def rejected(self) -> dict:
        return self.verdicts.rejected

    @property
    def waiting(self) -> dict:
        return self.verdicts.waiting

    @property
    def same_files(self) -> dict[str, str]:
        """Path -> the accepted path it is a link to (a hard link, a symbolic link): never read."""
        return self.same.links

    @property
    def schema(self) -> Schema | None:
        """The columns' names and types: declared, or inferred from the first file accepted."""
        return self.judge.schema

    @property
    def num_rows(self) -> int:
        return self.store.num_rows

    @property
    def labels(self) -> list[str]:
        return self.format.labels

    @property
    def columns(self) -> tuple[str, ...] | None:
        """The schema's columns, once there is a schema."""
        return None if self.schema is None else self.schema.names

    @property
    def in_window(self) -> list[str]:
        """The accepted files in training now, in acceptance order: all, or the window's."""
        return self.files.in_training

    @property
    def files_left(self) -> int:
        """How many accepted files left the window."""
        return self.files.files_left

    @property
    def tails(self) -> dict[str, TailState]:
        """Path -> how far each tailed file was read (`appends="tail"`)."""
        return self.tailed.states

    @property
    def piece_ends(self) -> list[tuple[str, int, int]]:
        """With `appends="tail"`, the store's pieces in order, as (path, end offset, rows)."""
        return self.files.piece_ends

    @property
    def skip_bad_rows(self) -> bool:
        return self.on_bad_row == "skip"

    @property
    def rows_skipped(self) -> int:
        return self.files.rows_skipped

    @property
    def rows_version(self) -> int:
        """Changes whenever rows join: a dataset built at one version serves until the next."""
        return self.store.version

    def dataset(self, batch_size: int, shuffle: bool, transform) -> tf.data.Dataset:
        """Batches of every accepted row, once per pass (see `RowStore.dataset`)."""
        return self.store.dataset(batch_size, shuffle, transform=transform)

    def reseed(self, seed: int) -> None:
        """Makes the next pass's shuffle a function of `seed` alone."""
        self.store.reseed(seed)

    def poll(
        self,
        max_seconds: float | None = None,
        skip: Collection[str] = (),
        progress: Callable[[IngestProgress], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> list[str]:
        """Ingests every complete new file; returns the accepted paths.

        Accepted files (to warn when one changed) and rejected ones (to judge
        again one that changed) are looked at again at most
        `RECHECKS_PER_POLL` of each a poll, in turn, and the state written is
        what changed, so that a poll's cost does not grow with the files judged.
        The files left to read (by `max_seconds` or `skip`) are in `pending`.
        A poll with `REPORTED_FILES` or more to read reports its progress
        (see `IngestProgress`).

        Args:
            max_seconds: stop reading files once this long has passed (after
                one file at least); `None` reads them all.
            skip: paths of files not to read in this poll.
            progress: called with the `IngestProgress` after each file, when reported.
            stop: called after each file read: the poll reads no more once it returns True.
        """
        # Measured on TF 2.21, 2 cores: a stat costs ~5 us, and re-stating
        # 1,000 accepted files cost ~17 ms a poll, a third of an epoch over
        # their 8,000 rows.
        started = time.monotonic()
        rechecked = self.verdicts.rechecked(self.files.paths)
        stats = self._settled_files(rechecked)
        if stats is not None and self._follow_moves():
            # The paths the moved files left were skipped as accepted (unless rechecked in turn):
            # listed again, the new log a rotation leaves there joins at this boundary, not the next.
            stats = self._settled_files(rechecked)
        if stats is None:
            return []
        if self.schema is None:
            # The schema comes from the oldest file, so a stray newer one cannot set it.
            stats = sorted(stats, key=lambda stat: (stat.mtime_ns, stat.path))
        to_read = []
        for stat in stats:
            if stat.path in self.accepted:
                if stat.path not in self.tailed.states:
                    self.verdicts.warn_if_changed(stat)
            elif stat.path not in self.same.links and self.verdicts.is_new(stat, started, self.judge.refusal):
                to_read.append(stat)
        self.verdicts.forget_waiting({stat.path for stat in stats})
        self.pending = {stat.path: stat for stat in to_read}
        to_read = [stat for stat in to_read if stat.path not in skip]
        report = self._report_of(to_read, progress)
        new = []
        unapplied = 0  # Files accepted since the window was last applied.
        for stat in to_read:
            rows = self.num_rows
            # A link to, or a move of, a file accepted earlier in this poll is not read again; a copy
            # of a tailed file waits.
            accepted = not (self.same.recognise(stat) or self.copies.waits(stat)) and self.judge.judge(stat)
            del self.pending[stat.path]
            if report is not None:
                report.advance(self.num_rows - rows, stat.size)
            if accepted:
                new.append(stat.path)
                unapplied += 1
                # Once as many files joined as were in training before them: a backlog read with
                # a window holds at most twice the window's files, and applying it (a slice of
                # the files in training, a copy of the rows a store frees) costs O(1) a file.
                in_training = len(self.files.paths) - self.files.first
                if not self.policy.keeps_every_file and 2 * unapplied >= in_training:
                    self._apply_window()
                    unapplied = 0
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            if stop is not None and stop():
                break
        if report is not None and not self.pending:
            report.finish()
            self._report = None
        grown = self.tailed.read_appends(self.schema, self.skip_bad_rows, self.judge.partition)
        if new or grown:
            self._apply_window()
        if to_read or grown:
            release_parse_memory()
        self._save()
        return new

    def _settled_files(self, rechecked: list[str]) -> list[FileStat] | None:
        """The settled files not judged yet, and those of `rechecked`; `None`: the folder cannot be listed."""
        try:
            return self.watcher.complete_files(
                skip=itertools.chain(self.accepted, self.rejected), recheck=rechecked
            )
        except OSError as e:  # The folder itself cannot be listed now; files wait for the next poll.
            logger.warning(
                "Cannot list %s now: %s; trying again at the next poll", printable(self.directory), e
            )
            return None

    def _follow_moves(self) -> bool:
        """Takes the records of accepted files listed under new paths there; whether any moved.

        Settled or not: a tailed file renamed by a log rotation was written to just before.
        """
        listed = self.watcher.listed
        moved = False
        for stat in listed:
            if stat.path not in self.accepted:
                # A link is recognised and stays out of `accepted`; a move's record takes its path.
                moved |= self.same.recognise(stat) and stat.path in self.accepted
        return bool(self.copies.follow_rotations(listed)) or moved

    def _report_of(self, to_read: list[FileStat], listener) -> IngestProgress | None:
        """The progress report of a poll with `REPORTED_FILES` to read or more.

        One report lasts until nothing is pending, so that a backlog read in
        slices (`max_seconds`) is one report, logged every so often, not one per slice.
        """
        report = self._report
        if report is None and len(to_read) >= REPORTED_FILES:
            nbytes = sum(stat.size for stat in to_read)
            report = self._report = IngestProgress(printable(self.directory), len(to_read), nbytes)
        elif report is not None:
            report.files = report.files_done + len(self.pending)
            report.nbytes = report.bytes_done + sum(stat.size for stat in self.pending.values())
        if report is not None:
            report.listener = listener
        return report

    def ingest_files(self, stats: Sequence[FileStat], quarantine: bool = True) -> list[str]:
        """Ingests exactly these file versions, in this order, without scanning the folder.

        For a worker that must take the files another process accepted
        (`follower_ingest.ingest_snapshot`). Returns the accepted paths; the
        others land in `rejected` (or `waiting`), as in `poll()`, and are
        moved only with `quarantine` (and `on_bad_file="quarantine"`).
        """
        new = [stat.path for stat in stats if self.judge.judge(stat, quarantine, follow=True)]
        if stats:
            release_parse_memory()
            self._save()
        return new

    def record_epoch(self, epoch: int, drawn: dict | None = None) -> EpochLineage:
        """Notes that epoch `epoch` trains on everything in training now (`drawn`: see `Lineage`)."""
        files = self.files
        self.lineage.record(
            epoch, len(files.paths), self.num_rows, files.rows_skipped, files.first, drawn, files.kept
        )
        self.saved_state.changes.append(
            {"type": "epoch", "epoch": epoch, "lineage": self.lineage.saved(epoch)}
        )
        self._save()
        return self.lineage[epoch]

    def take_piece(self, stat: FileStat, end: int) -> int:
        """Reads a file up to byte `end`: whole if new, else what was appended; returns the rows taken.

        For a follower worker, which takes exactly the pieces its chief took
        (`appends="tail"`). A file that cannot be taken lands in `rejected`
        (or `waiting`), as in `poll()`; nothing is quarantined.
        """
        if stat.path not in self.accepted:
            return self.accepted[stat.path].rows if self.judge.judge(stat, False, end, follow=True) else 0
        if stat.path not in self.tailed.states:
            return 0
        rows = self.accepted[stat.path].rows
        appended = self.tailed.read(
            stat, self.schema, self.skip_bad_rows, self.judge.partition(stat), until=end
        )
        self.tailed.take(stat, appended, self.schema)
        self._save()
        return self.accepted[stat.path].rows - rows

    def _apply_window(self) -> None:
        """Lets files leave training where the policy says so."""
        files = FilesInTraining(self.accepted, self.in_window, self.num_rows)
        self._left(self.files.leave(self.policy.files_leaving(files), self.accepted))

    def leave_before(self, first: int) -> None:
        """Takes the accepted files before the `first` out of training: their rows are freed.

        A follower worker calls it with its chief's window edge (the window
        lets files go itself, with `TrainingFiles.leave`). Their rows in `state_dir` are deleted once
        the state that says they left is saved.
        """
        self._left(self.files.leave_before(first, self.accepted))

    def _left(self, leaving: list[str]) -> None:
        """Notes the files that left training: no longer tailed, and saved as gone."""
        if not leaving:
            return
        for path in leaving:
            self.tailed.leave(path)
        change = {"type": "leave", "first": self.files.first}
        if self.files.kept:
            change["kept"] = self.files.kept
        self.saved_state.changes.append(change)
        logger.info(
            "%d files left the window (%s ... %s); %d rows from %d files train",
            len(leaving),
            printable(leaving[0]),
            printable(leaving[-1]),
            self.num_rows,
            len(self.in_window),
        )

    def note_left(self, path: str, rows: int, size: int, mtime_ns: int) -> None:
        """Records a file that another process accepted and that left its window before this one read it.

        For a follower worker that joins late: it never reads such a file
        (it may be deleted by now), but counts it, so that its files stay
        in the chief's order.
        """
        record = AcceptedFile(path, rows, size, mtime_ns)
        self.verdicts.accept(record)
        self.files.add_left(path)
        self.saved_state.changes.append({"type": "accept", "file": {**record_json(record), "rows_ref": None}})

    def vocabulary(self, name: str) -> list[str]:
        """The strings of column `name`: item i is the string of id i, item 0 `"[UNK]"`."""
        return self.vocabularies.strings(name)

    def _save(self) -> None:
        """Writes the state's changes (see `SavedState.save`)."""
        self.saved_state.save(snapshot=self.get_state)

    def get_state(self) -> dict:
        """The whole state, as a snapshot keeps it: each part's, with the rules the rows were read by."""
        return {
            "directory": self.directory,
            "labels": self.format.labels,
            "schema": None if self.schema is None else self.schema.to_json(),
            "read_with": read_with(self.format, self.partition_columns),
            "accepted": [
                {**record_json(record), **self.files.saved(path), **self.tailed.saved(path)}
                for path, record in self.accepted.items()
            ],
            "first": self.files.first,
            "kept": self.files.kept,
            "vocabularies": self.vocabularies.get_state(),
            "rejected": self.verdicts.get_state(),
            "epochs": self.lineage.get_state(),
        }

    def _restore(self) -> None:
        """Takes up the state saved in `state_dir`: each part restores its own."""
        state = self.manifest.load()
        if state is None:
            return
        where = self.manifest.path
        check_fits(
            state, where, self.directory, self.format.labels, read_with(self.format, self.partition_columns)
        )
        saved = state["schema"] and Schema.from_json(state["schema"], self.format.labels)
        if saved:
            self.judge.schema = saved
        accepted, rejected = records_of(state)
        self.verdicts.set_state(accepted, rejected)
        vocabularies = state.get("vocabularies")
        if vocabularies is not None:  # Their rows renumber into them: ids stay, whatever rows left.
            self.vocabularies.set_state(vocabularies)
        first, kept = state.get("first", 0), state.get("kept", [])
        self.files.set_state(state["accepted"], first, accepted, self.schema, where, kept)
        in_training = [state["accepted"][i] for i in kept] + state["accepted"][first:]
        still_in = set(kept)
        left = [item for i, item in enumerate(state["accepted"][:first]) if i not in still_in]
        self.tailed.set_state(in_training, follow=self.appends == "tail", left=left)
        if self.tailed.paused:
            logger.warning(
                "%d files tailed by the last run are not tailed now (appends=%r): lines appended to them "
                "are not read, and their rows stay; a run with appends='tail' takes them up where they "
                "stopped",
                len(self.tailed.paused),
                self.appends,
            )
        self.lineage.set_state(state["epochs"])
        if vocabularies is None:
            # A state from before the vocabularies were saved: saved now, before a window lets
            # the rows that hold their strings go.
            self.manifest.compact(self.get_state())
        self._apply_window()  # A smaller window than the last run's.
        self._save()
        self.restored = (self.num_rows, len(self.files.paths) - self.files_left, self.files_left)
        logger.info(
            "Restored %d accepted files (%d rows in training%s) and %d rejected files from %s",
            len(self.accepted),
            self.num_rows,
            f"; {self.files_left} files left the window" if self.files_left else "",
            len(self.rejected),
            self.manifest.state_dir,
        )
