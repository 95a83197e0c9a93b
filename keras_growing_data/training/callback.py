"""The Keras callback that watches a folder and serves its rows."""

import contextlib
import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_growing_data.errors import NoRowsError
from keras_growing_data.formats.file_format import DEFAULT_MAX_FILE_BYTES
from keras_growing_data.sources.ingest_parts import build_ingest
from keras_growing_data.sources.records import AcceptedFile, EpochLineage, RejectedFile
from keras_growing_data.sources.watcher import DEFAULT_PATTERNS, FolderWatcher
from keras_growing_data.sources.window import Window
from keras_growing_data.training.background_polls import BackgroundPolls, first_rows_then_backlog
from keras_growing_data.training.padding_choice import pads_last_batch
from keras_growing_data.training.poll_progress_bar import PollProgressBar
from keras_growing_data.training.predicting_model import predicting_model
from keras_growing_data.training.raw_columns import RawColumns
from keras_growing_data.training.served_batches import ServedBatches
from keras_growing_data.utils.arguments import check_bool, check_choice, check_int, check_number

logger = logging.getLogger("keras_growing_data")


class GrowingDataCallback(keras.callbacks.Callback):
    """Watches a folder of CSV files and serves every accepted row.

    Each call of `poll()` ingests the complete new files of `directory`: a
    file is read whole and joins the rows, or is rejected whole with a
    reason. `dataset` is a `tf.data.Dataset` of `(x, y)` batches over all
    rows accepted so far. `GrowingDatasetTrainer` polls at every epoch
    boundary and trains each epoch on everything accepted before it began.

    Columns are matched by header name, in any order, and typed: the schema
    is `columns` if given, else inferred from the first accepted file (a
    column of numbers is float32, any other a string column). Features are
    the schema's columns but the labels: one float32 matrix `x` of shape
    `[batch, n_features]` when all are float32, else a dict of `[batch]`
    tensors by column name (see `features`). `y` follows Keras: `label="y"`
    gives `[batch]`, `label=["y"]` `[batch, 1]`, `label=["y", "z"]` one
    `[batch, 2]` tensor, `label={"out_a": "y", "out_b": ["z", "w"]}` a dict
    by output name; `label=None` serves `x` alone.

    A missing value (an empty field or one of `na_values`) takes its
    column's default; without one, the file is rejected (or, with
    `on_bad_row="skip"`, loses that line), with the line and column named.
    So is a float that is NaN or infinite, or a value not of its type.

    Train with `GrowingDatasetTrainer`: inside a single `model.fit`, Keras
    caps every epoch at the first epoch's step count, so the callback stops a
    plain `model.fit(..., callbacks=[data])` at `on_train_begin` rather than
    let it train on truncated data.

    Example:

    ```python
    data = GrowingDataCallback("incoming/", label="price", batch_size=64)
    history = GrowingDatasetTrainer(model, data).fit(epochs=50)
    print(data.num_rows, len(data.accepted), data.rejected)
    ```

    Args:
        directory: the folder to watch: a local path or any URL that
            `tf.io.gfile` reads. See `FolderWatcher`.
        label: the label column's name (`y` is `[batch]`), a list of names
            (`[batch, names]`), a dict of output name -> name or list of
            names (a dict of those, for multi-output models), or `None` for
            batches of `x` only.
        batch_size: rows per batch.
        pattern: `fnmatch` pattern of the file names to read, or a list of
            them; by default every format's files, plain or compressed
            (`*.csv`, `*.jsonl`, `*.ndjson`, `*.parquet`, `*.csv.gz`, ...). Each file is
            read by the format its name ends in (`BySuffix`), a name no
            format claims as CSV. See `FolderWatcher`.
        shuffle: whether each epoch shuffles all accepted rows.
        seed: seed of the shuffles; the same seed gives the same epochs.
        settle_seconds: how long a file must stay unchanged before it counts
            as complete. See `FolderWatcher`.
        max_line_bytes: longest line accepted; a longer one rejects the file.
            See `CsvFormat` and `JsonlFormat`.
        poll_interval: seconds between background polls while an epoch
            trains, so new files are parsed (and the next epoch's dataset
            built) before the boundary; `None` polls only at boundaries. The
            boundary still polls once more, so the rule "every file complete
            at the boundary is in" holds either way, but for a backlog: when
            `fit` starts with `BACKLOG_FILES` or more complete files to
            read, training starts after the first, and the rest is read in
            the background, each joining at the boundary after it was read
            (see `backlog`).
        on_bad_file: `"reject"` or `"quarantine"` (also moved to
            `_rejected/`). See `FolderIngest`.
        on_bad_row: `"reject"` rejects a file with any bad line; `"skip"`
            keeps its good lines. See `FolderIngest`.
        state_dir: a folder that keeps the state, so that a restart re-parses
            and counts nothing twice. See `Manifest`.
        follow_symlinks: whether to read symbolic links that lead out of the
            folder. See `FolderWatcher`.
        storage: `"memory"` or `"disk"` (memory-mapped, for data larger than
            memory). See `DiskRowStore`.
        storage_dir: the local folder for `storage="disk"`. See
            `DiskRowStore`.
        parser: `"auto"`, `"tensorflow"` or `"pandas"`: which parser reads
            CSV; all accept the same rows. See `CsvFormat`.
        columns: `None` infers the schema from the first accepted file, or a
            dict name -> dtype. See `FileFormat`.
        defaults: a dict name -> the value that fills a missing value of that
            column. See `FileFormat`.
        na_values: the spellings of a missing value of CSV (default: pandas'
            own); JSON Lines says missing with `null`. See `FileFormat`.
        features: `"auto"` serves `x` as a float32 matrix when every feature
            is float32, else as a dict; `"dict"` always as a dict of
            `[batch]` tensors by column name (for `keras.Input(name=...)`,
            `FeatureSpace`, preprocessing layers); `"matrix"` always as a
            float32 matrix (int64 features converted), which string
            features cannot join.
        strings_as: `"string"` serves string columns as `tf.string`;
            `"index"` as int64 ids from each column's append-only
            vocabulary (`vocabulary(name)`): 0 is unknown (a default of
            `"[UNK]"` serves a missing value as 0), new strings take the
            next id in the order first accepted, and an id never changes,
            also across restarts with `state_dir`. Training on JAX or PyTorch
            needs `"index"` for string columns: only TensorFlow takes
            `tf.string`.
        pad_last_batch: whether training pads the last, partial batch of
            each epoch to `batch_size` rows, with copies of its rows that
            have sample weight 0 and its real rows reweighted, so that every
            batch has one shape (a step compiled per shape is not compiled
            again as rows grow; a `keras.distribution` splits each batch
            evenly). `"auto"`, `True` or `False`: see `pads_last_batch`.
            A padded batch trains as the unpadded one: each row once, the
            same loss and gradient, and every log (`loss`, compiled
            metrics, `val_*`, per-batch logs) equal to the unpadded run's.
            Layers that use batch statistics (`BatchNormalization`) see
            the copies.
        recursive: whether to watch the sub-folders too, at any depth. See
            `FolderWatcher`.
        partition_columns: whether Hive-style folder names (`dt=2026-12-01/`)
            give columns. See `FolderIngest`.
        window: a `Window(rows=, files=, seconds=)`, or any
            `TrainingSetPolicy`, to train on recent data only; `None` keeps
            every file. See `Window`.
        appends: `"warn"` or `"tail"`: what lines appended to an accepted file
            do. See `FolderIngest`.
        max_file_bytes: the most bytes one file may hold, decompressed
            (default 4 GiB); a larger one is rejected. See `FileFormat`.
        commit_marker: a file name such as `"_SUCCESS"`: the files of a
            folder are read only once it (or a folder above it) holds a file
            of that name, as Hadoop's and Spark's output committers write
            it; `None` reads every settled file. See `FolderWatcher`.
    """

    def __init__(
        self,
        directory: str,
        label: str | Sequence[str] | Mapping[str, str | Sequence[str]] | None,
        batch_size: int = 32,
        pattern: str | Sequence[str] = DEFAULT_PATTERNS,
        shuffle: bool = True,
        seed: int | None = None,
        settle_seconds: float = 1.0,
        max_line_bytes: int = 1 << 20,
        poll_interval: float | None = None,
        on_bad_file: str = "reject",
        on_bad_row: str = "reject",
        state_dir: str | None = None,
        follow_symlinks: bool = False,
        storage: str = "memory",
        storage_dir: str | None = None,
        parser: str = "auto",
        columns: Mapping[str, str] | None = None,
        defaults: Mapping[str, object] | None = None,
        na_values: Sequence[str] | None = None,
        features: str = "auto",
        strings_as: str = "string",
        pad_last_batch: bool | str = "auto",
        recursive: bool = False,
        partition_columns: bool = False,
        window: Window | None = None,
        appends: str = "warn",
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        commit_marker: str | None = None,
    ):
        super().__init__()
        # The folder, file and storage arguments are checked by the ingest's
        # parts that own them (watcher, reader, store), these here.
        batch_size = check_int("batch_size", batch_size, minimum=1)
        shuffle = check_bool("shuffle", shuffle)
        seed = None if seed is None else check_int("seed", seed, minimum=0)
        if poll_interval is not None:
            poll_interval = check_number("poll_interval", poll_interval, positive=True)
        self.ingest = build_ingest(
            directory,
            label,
            pattern=pattern,
            settle_seconds=settle_seconds,
            max_line_bytes=max_line_bytes,
            follow_symlinks=follow_symlinks,
            on_bad_file=on_bad_file,
            on_bad_row=on_bad_row,
            state_dir=state_dir,
            seed=seed,
            storage=storage,
            storage_dir=storage_dir,
            parser=parser,
            columns=columns,
            defaults=defaults,
            na_values=na_values,
            recursive=recursive,
            partition_columns=partition_columns,
            window=window,
            appends=appends,
            max_file_bytes=max_file_bytes,
            commit_marker=commit_marker,
        )
        self.features = check_choice("features", features, ("auto", "dict", "matrix"))
        self.strings_as = check_choice("strings_as", strings_as, ("string", "index"))
        if not (isinstance(pad_last_batch, bool) or pad_last_batch == "auto"):
            raise ValueError(f'pad_last_batch must be "auto", True or False, got {pad_last_batch!r}.')
        self.pad_last_batch = pad_last_batch
        if pad_last_batch is True and label is None:
            raise ValueError(
                "pad_last_batch=True needs a label: a padded batch carries its sample weights next to y."
            )
        self.label = label
        self._served = ServedBatches(self.ingest, batch_size, label, self.features, self.strings_as)
        if self.ingest.schema is not None:
            self._served.keras_batches()  # A declared schema that cannot be served fails here.
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.poll_interval = poll_interval
        self._lock = threading.RLock()
        self._background = BackgroundPolls(
            self._poll_in_background, poll_interval, lambda: bool(self._backlog), self.directory
        )
        self._trainer_active = False
        self._backlog = set()
        self._progress = None  # Shows a long poll's progress, while a verbose trainer runs.

    @property
    def directory(self) -> str:
        """The watched folder, a local path made absolute, or a URL."""
        return self.ingest.directory

    @property
    def labels(self) -> list[str]:
        """The label columns, in the order of `y`."""
        return self.ingest.labels

    # `accepted`, `rejected`, `in_window` and `lineage` are copies taken under the lock that polls
    # hold, so that they can be read, from any thread, while background polls change what they copy.

    @property
    def accepted(self) -> dict[str, AcceptedFile]:
        """Path -> `AcceptedFile` (`rows`, `size`, `mtime_ns`, `skipped`), every file ever taken.

        A copy as of now (about 1 ms at 100,000 files): take it once, not per item.
        """
        with self._lock:
            return dict(self.ingest.accepted)

    @property
    def in_window(self) -> list[str]:
        """The accepted files in training now, in acceptance order (with a `window`, the newest): a copy."""
        with self._lock:
            return list(self.ingest.in_window)

    @property
    def rejected(self) -> dict[str, RejectedFile]:
        """Path -> `RejectedFile` (`reason`, `size`, `mtime_ns`, `moved_to`): a copy as of now."""
        with self._lock:
            return dict(self.ingest.rejected)

    @property
    def lineage(self) -> Mapping[int, EpochLineage]:
        """Epoch -> `EpochLineage`: the files (in order) and rows it trained on; a copy as of now."""
        with self._lock:
            return self.ingest.lineage.snapshot()

    @property
    def columns(self) -> tuple[str, ...] | None:
        """The schema's columns, once there is a schema."""
        return self.ingest.columns

    @property
    def schema(self) -> dict[str, str] | None:
        """Column name -> dtype in force: declared, or inferred once a file was accepted."""
        schema = self.ingest.schema
        return None if schema is None else schema.dtypes

    def vocabulary(self, name: str) -> list[str]:
        """The strings of string column `name` so far: item i is the string of id i, item 0 `"[UNK]"`.

        It only ever grows at its end, so
        `keras.layers.StringLookup(vocabulary=data.vocabulary(name)[1:])`
        maps every string to the id it is served as with `strings_as="index"`.
        """
        schema = self.schema
        if schema is None:
            raise ValueError(
                f"There is no schema yet, so no vocabulary of {name!r}: no file of {self.directory!r} "
                "was accepted so far (poll() first), and no columns= were declared."
            )
        if schema.get(name) != "string":
            strings = [n for n, dtype in schema.items() if dtype == "string"]
            raise ValueError(f"{name!r} is not a string column; the string columns are {strings}.")
        return self.ingest.vocabulary(name)

    @property
    def watcher(self) -> FolderWatcher:
        """The `FolderWatcher` that finds the folder's complete files."""
        return self.ingest.watcher

    @property
    def num_rows(self) -> int:
        """Rows accepted so far."""
        return self.ingest.num_rows

    @property
    def feature_names(self) -> list[str]:
        """The feature columns, in the order of `x`, once there is a schema."""
        schema = self.ingest.schema
        return [] if schema is None else list(schema.features)

    def poll(self) -> list[str]:
        """Scans the folder now and ingests every complete new file.

        Never raises for a bad file: it lands in `rejected` with its reason.

        Returns:
            The paths of the files accepted by this call, in name order
            (until a schema is set, oldest first: see `columns`).
        """
        with self._lock:
            return self.ingest.poll(progress=self._progress)

    @property
    def backlog(self) -> list[str]:
        """The files that were complete when training began but are still to be read in the background."""
        return sorted(self._backlog)

    def wait_for_rows(self, seconds: float = 0) -> None:
        """Polls until some rows are accepted, for at most `seconds`.

        With `poll_interval`, a folder with a backlog (`BACKLOG_FILES` or
        more complete files to read) is read only until the first rows are
        in; the rest is read in the background while training runs, and
        each file joins at the boundary after it was read (`backlog`).

        Args:
            seconds: how long to wait; 0 polls once.

        Raises:
            FileNotFoundError: the folder still does not exist.
            NoRowsError: no file was accepted in time; the message says
                whether files were rejected (and why), are still being
                written, or none is there.
        """
        seconds = check_number("seconds", seconds, minimum=0, infinite=True)
        deadline = time.monotonic() + seconds
        self._first_poll()
        while self.num_rows == 0 and time.monotonic() < deadline:
            time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))
            self._first_poll()
        if self.num_rows:
            return
        if not self.watcher.exists():
            raise FileNotFoundError(f"The training folder {self.directory!r} does not exist.")
        done = set(self.accepted) | set(self.rejected)
        pending = [s.path for s in self.watcher.candidates() if s.path not in done]
        rejected = list(self.rejected.values())
        raise NoRowsError(self.directory, self.watcher.pattern, rejected, pending, seconds)

    def _first_poll(self) -> None:
        """A poll before training: with `poll_interval`, a backlog is left to the background polls."""
        if self.poll_interval is None or self.num_rows:
            self.poll()
            return
        with self._lock:
            self._backlog = first_rows_then_backlog(self.ingest, self._progress)

    @property
    def dataset(self) -> tf.data.Dataset:
        """A dataset of `(x, y)` batches over every row accepted so far.

        Each pass reshuffles (with `shuffle`). It does not grow by itself:
        take it again after `poll()` to include new files.
        """
        return self.build_dataset()

    def build_dataset(self, shuffle: bool | None = None) -> tf.data.Dataset:
        """Like `dataset`, with shuffling switched on or off.

        A dataset is built once per state of the rows (building traces its
        functions, tens of milliseconds) and reused until new rows arrive.
        """
        with self._lock:
            if self.num_rows == 0:
                raise ValueError(f"No rows accepted yet from {self.directory!r}.")
            shuffle = self.shuffle if shuffle is None else check_bool("shuffle", shuffle)
            return self._served.dataset(shuffle)

    def ids_for(self, vocabularies: Mapping[str, Sequence[str]]) -> dict[str, list[int]]:
        """Per column, this callback's id of each string of `vocabularies` (0 if it has none)."""
        with self._lock:
            return self._served.ids_for(vocabularies)

    def encode(self, rows: Mapping[str, Sequence | np.ndarray]) -> dict[str, np.ndarray] | np.ndarray:
        """Raw column values made into `x` as the batches serve it: `model.predict(data.encode(rows))`.

        Works on every backend, with NumPy. String ids are those served
        now. See `RawColumns`.

        Args:
            rows: column name -> list or 1-D array of raw values: strings
                as str; numbers as numbers, or as the text a file holds; a
                missing value as `None`, NaN or one of `na_values`, which
                takes the column's default. Other columns are ignored.

        Returns:
            A dict of NumPy arrays by column, or a float32 matrix, as `x`.

        Raises:
            BadValueError: a value the ingest would reject (missing without
                a default, not of its column's type), named: `rows['area'][3]`.
        """
        return self._raw_columns().encode(rows)

    def predicting_model(self, model: keras.Model) -> keras.Model:
        """`model`, trained on these batches, as a model that takes raw column values by name.

        Its Keras layers fill missing values with the defaults and look
        strings up in the vocabularies as of now, so it predicts on raw
        values as `model` does on the served batches; saved as `.keras`, it
        loads without this package. See `predicting_model`.

        Args:
            model: a model trained on this callback's batches.

        Returns:
            A `keras.Model` that takes a dict of raw columns, sharing `model`'s weights.
        """
        return predicting_model(model, self._raw_columns())

    def _raw_columns(self) -> RawColumns:
        with self._lock:
            schema = self.ingest.schema
            if schema is None:
                raise ValueError(
                    f"No schema yet for {self.directory!r}: poll() until a file is accepted, "
                    "or declare columns=."
                )
            # A validation folder serves the training folder's ids (`serve_like`).
            ids_of = self._served.ids_of or self
            strings = [name for name in schema.features if schema.dtypes[name] == "string"]
            return RawColumns(
                schema,
                self.ingest.format.defaults,
                self.ingest.format.na_values,
                {name: ids_of.ingest.vocabulary(name) for name in strings},
                self.strings_as,
                self._served.keras_batches().matrix,
            )

    def serve_like(self, training: "GrowingDataCallback") -> None:
        """Serves batches as `training` does: the same schema required, its string ids used.

        For a validation folder: with `strings_as="index"`, a string takes
        the id the training data gave it, and 0 (unknown) if the training
        data has not seen it, so the model reads each id as it learned it.

        Raises:
            ValueError: the two folders' schemas or labels differ.
        """
        mine, theirs = self.schema, training.schema
        if mine != theirs or self.labels != training.labels:
            raise ValueError(
                f"The validation folder {self.directory!r} has schema {mine} with labels {self.labels}, "
                f"the training folder {theirs} with labels {training.labels}; declare columns= on both."
            )
        if self.strings_as != training.strings_as or self.features != training.features:
            raise ValueError(
                "The validation callback must have the training callback's strings_as and features."
            )
        self._served.ids_of = training

    def epoch_dataset(self, epoch: int) -> tf.data.Dataset:
        """Polls, then returns the dataset that epoch `epoch` trains on.

        With a `seed`, the epoch's shuffle depends on the seed and the epoch
        number alone, so a resumed run shuffles as an uninterrupted one. What
        the epoch covers is recorded in `lineage` and the epoch's logs.
        """
        epoch = check_int("epoch", epoch, minimum=0)
        with self._background.boundary(), self._lock:
            seed = self.settle_epoch(epoch)
            self.ingest.record_epoch(epoch)
            if seed is not None:
                self.ingest.reseed(epoch_seed(seed, epoch))
            return self.epoch_input(self.build_dataset())

    def settle_epoch(self, epoch: int) -> int | None:
        """Takes in the files epoch `epoch` trains on; returns the seed of its shuffle, if any.

        The one step of the epoch boundary that differs between a single
        trainer (it polls the folder) and a worker (it follows the chief).
        The backlog is left to the background polls.
        """
        self.ingest.poll(skip=self._backlog, progress=self._progress)
        self._backlog.intersection_update(self.ingest.pending)
        return self.seed

    # The contract with `GrowingDatasetTrainer` (and its subclasses): the hooks below are what a
    # trainer calls, and what `WorkerDataCallback` overrides. Users need none of them.

    @property
    def pads(self) -> bool:
        """Whether the batches served now are padded (see `pad_last_batch` and `serving`)."""
        return self._served.padding is not None

    def input_spec(self):
        """The `element_spec` of what `model.fit` is given for an epoch now (for building the model)."""
        return self.epoch_input(self.build_dataset()).element_spec

    def epoch_input(self, dataset: tf.data.Dataset):
        """What `model.fit` is given for an epoch: the dataset, padded while `serving` says so."""
        return self._served.fit_input(dataset)

    def validation_input(self) -> tf.data.Dataset:
        """Polls, then returns what `model.fit` is given as `validation_data`: every row, in order."""
        self.poll()
        return self.epoch_input(self.build_dataset(shuffle=False))

    @contextlib.contextmanager
    def serving(self, model: keras.Model, class_weight: dict | None):
        """Serves batches to `model` while it lasts, padded or not; yields the `class_weight` left for `fit`.

        Whether it pads is `pads_last_batch`'s answer. A padded batch
        carries sample weights, which Keras does not combine with
        `class_weight`, so the class weights are folded into them.
        """
        self._served.keras_batches().require_backend_support()
        pad = pads_last_batch(model, self.pad_last_batch, class_weight, self.label is not None)
        self._served.padding = (class_weight,) if pad else None
        try:
            yield None if pad else class_weight
        finally:
            self._served.stop_padding()

    def epoch_steps(self, epoch: int) -> int:
        """The steps (global batches) of epoch `epoch`, once `epoch_dataset` settled it."""
        return math.ceil(self.ingest.lineage.counts(epoch)[1] / self.batch_size)

    @contextlib.contextmanager
    def showing_progress(self, verbose):
        """Shows the progress of long polls as a bar while it lasts, if `verbose` (as in `model.fit`)."""
        self._progress = PollProgressBar(self.directory) if verbose else None
        try:
            yield
        finally:
            self._progress = None

    @contextlib.contextmanager
    def driven_by_trainer(self):
        """Marks the callback as driven by `GrowingDatasetTrainer`."""
        self._trainer_active = True
        try:
            yield self
        finally:
            self._trainer_active = False
            self._background.stop()
            self._backlog.clear()

    def _poll_in_background(self) -> None:
        with self._lock:
            if self.poll_slice():
                self.build_dataset()  # Ready for the next boundary.
            self._backlog.intersection_update(self.ingest.pending)

    def poll_slice(self) -> list[str]:
        """One background poll: at most `poll_interval` of reading, less if a boundary comes."""
        return self.ingest.poll(max_seconds=self.poll_interval, stop=self._background.at_boundary)

    def on_train_begin(self, logs=None):
        if not self._trainer_active:
            raise RuntimeError(
                "GrowingDataCallback must be trained with GrowingDatasetTrainer. "
                "Inside one `model.fit`, Keras caps every epoch at the first "
                "epoch's step count, so files that arrive later would be "
                "silently left out. Write instead:\n\n"
                f"    data = GrowingDataCallback({self.directory!r}, "
                f"label={self.label!r}, batch_size={self.batch_size})\n"
                "    history = GrowingDatasetTrainer(model, data).fit(epochs=..., "
                "callbacks=[...])\n"
            )
        if self.poll_interval is not None:
            self._background.start()

    def on_train_end(self, logs=None):
        self._background.stop()

    def on_epoch_end(self, epoch, logs=None):
        lineage = self.ingest.lineage.get(epoch)
        if logs is not None and lineage is not None:
            logs["rows"] = lineage.rows
            logs["files"] = len(lineage.files)
            if not self.ingest.policy.keeps_every_file:
                logs["files_left"] = lineage.files_left
            if self.ingest.skip_bad_rows:
                logs["rows_skipped"] = lineage.rows_skipped


def epoch_seed(seed: int, epoch: int) -> int:
    """A shuffle seed for one epoch, derived from the user's seed."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
