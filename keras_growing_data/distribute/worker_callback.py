"""The `GrowingDataCallback` of one worker: the chief publishes each epoch, followers follow it."""

import contextlib
import logging
import posixpath
import secrets

import tensorflow as tf

from keras_growing_data.distribute.follower_ingest import ingest_snapshot
from keras_growing_data.distribute.replica_batches import replica_batches
from keras_growing_data.distribute.run_id import agree_on_run_id
from keras_growing_data.distribute.snapshot import (
    SNAPSHOT_FOLDER,
    EpochSnapshot,
    SnapshotFile,
    SnapshotFolder,
)
from keras_growing_data.distribute.worker_role import WorkerRole
from keras_growing_data.errors import SnapshotError
from keras_growing_data.sources.vocabulary import digest
from keras_growing_data.training.callback import GrowingDataCallback
from keras_growing_data.utils.arguments import check_number, check_path
from keras_growing_data.utils.keras_backend import require_tensorflow_backend

logger = logging.getLogger("keras_growing_data")

ON_JAX = (
    "On JAX, the devices of one host train data-parallel with GrowingDatasetTrainer under "
    "keras.distribution.set_distribution(keras.distribution.DataParallel()) (docs/backends.md)."
)


class WorkerDataCallback(GrowingDataCallback):
    """A `GrowingDataCallback` for one worker of a multi-worker run.

    On the chief it polls the folder as usual and publishes each epoch's
    snapshot before the epoch trains; on a follower `poll()` does nothing and
    each epoch waits for the chief's snapshot and ingests exactly its files
    (see `ingest_snapshot`). Every worker then serves its part of the same
    global batches (see `replica_batches`) as a `tf.distribute` dataset.
    Train it with `MultiWorkerTrainer`.

    Give every worker the same arguments. `batch_size` is the global batch,
    a multiple of the number of workers. With `seed=None`, the chief draws
    the seed and the followers take it from the snapshot.

    Args:
        directory: the data folder, shared by all workers.
        label: the label column, or a list of them (`None` is not supported:
            padded batches carry their sample weights next to `y`).
        batch_size: rows per global step, across all workers.
        snapshot_dir: the shared folder of the epoch snapshots (default:
            `_workers/` inside `directory`).
        snapshot_timeout: seconds a follower waits for a snapshot before it
            fails with `SnapshotTimeoutError`. The chief publishes an epoch's
            snapshot once the previous epoch is trained and the new files are
            parsed, so this must exceed that parsing time.
        strategy: the run's `MultiWorkerMirroredStrategy`; by default the
            strategy in scope when the callback is made, else the model's.
        **kwargs: as in `GrowingDataCallback`. `on_bad_file="quarantine"`
            acts on the chief only; `pad_last_batch` does not apply (a last
            batch is padded per replica, see `replica_batches`).

    Raises:
        RuntimeError: Keras does not run on TensorFlow: `tf.distribute`
            trains only TensorFlow-backend models.
    """

    def __init__(
        self,
        directory: str,
        label,
        batch_size: int = 32,
        snapshot_dir: str | None = None,
        snapshot_timeout: float = 600.0,
        strategy: tf.distribute.Strategy | None = None,
        **kwargs,
    ):
        require_tensorflow_backend("WorkerDataCallback (multi-worker training on tf.distribute)", ON_JAX)
        if "pad_last_batch" in kwargs:
            raise TypeError("WorkerDataCallback takes no pad_last_batch: a last batch is padded per replica.")
        super().__init__(directory, label, batch_size=batch_size, **kwargs)
        if label is None:
            raise ValueError(
                "WorkerDataCallback needs a label: a padded last batch carries its sample weights next to y."
            )
        snapshot_dir = check_path("snapshot_dir", snapshot_dir, optional=True)
        snapshot_timeout = check_number("snapshot_timeout", snapshot_timeout, positive=True)
        if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
            raise TypeError(f"strategy must be a tf.distribute.Strategy or None, got {strategy!r}.")
        self.snapshot_dir = snapshot_dir or posixpath.join(self.directory, SNAPSHOT_FOLDER)
        self.snapshot_timeout = snapshot_timeout
        if strategy is None and tf.distribute.has_strategy():
            strategy = tf.distribute.get_strategy()
        self._strategy = strategy
        self._role = None
        self._run = None
        self._run_seed = None
        self._first_wait = 0.0
        self.snapshots = {}

    @property
    def strategy(self) -> tf.distribute.Strategy:
        """The run's strategy: the one given or in scope at creation, else the model's."""
        if self._strategy is not None:
            return self._strategy
        if self.model is not None:
            return self.model.distribute_strategy
        raise RuntimeError(
            "This WorkerDataCallback does not know its strategy yet: pass strategy=..., create it "
            "inside `with strategy.scope():`, or ask once MultiWorkerTrainer.fit has started."
        )

    @property
    def role(self) -> WorkerRole:
        """This worker's `WorkerRole` (index, worker count, chief or not)."""
        if self._role is None:
            self._role = WorkerRole.from_strategy(self.strategy)
            if self.batch_size % self._role.count:
                raise ValueError(
                    f"batch_size ({self.batch_size}) is the global batch and must be a multiple of "
                    f"the number of workers ({self._role.count})."
                )
        return self._role

    @property
    def is_chief(self) -> bool:
        """Whether this worker is the chief: it polls the folder and publishes the epochs."""
        return self.role.is_chief

    def poll(self) -> list[str]:
        """On the chief, ingests every complete new file; on a follower, nothing.

        A follower takes files only from the chief's snapshots, at each epoch.
        """
        if not self.is_chief:
            return []
        return super().poll()

    def poll_slice(self) -> list[str]:
        """A background poll, on the chief only: a follower takes files from the snapshots alone."""
        return super().poll_slice() if self.is_chief else []

    def wait_for_rows(self, seconds: float = 0) -> None:
        """Waits for the first rows: the chief polls, a follower waits for its first snapshot.

        A follower's rows come with the chief's first snapshot, so it only
        adds `seconds` to that wait.
        """
        if self.is_chief:
            super().wait_for_rows(seconds)
        else:
            self._first_wait = seconds

    def settle_epoch(self, epoch: int) -> int:
        """The chief polls and publishes the epoch's snapshot; a follower waits for it and follows.

        Collective: every worker settles the same epochs (the first agrees on
        a run id). Returns the run's seed, the same on every worker.
        """
        if self._run is None:
            self._run = SnapshotFolder(self.snapshot_dir, agree_on_run_id(self.strategy, self.is_chief))
            wait = self.snapshot_timeout + self._first_wait
        else:
            wait = self.snapshot_timeout
        if self.is_chief:
            super().settle_epoch(epoch)
            snapshot = self._snapshot(epoch)
            self._run.publish(snapshot)
        else:
            snapshot = self._run.wait(epoch, wait)
            self._check_agreement(snapshot)
            ingest_snapshot(self.ingest, snapshot)
        schema = self._schema_pairs()
        if self.num_rows != snapshot.rows or schema != snapshot.schema:
            raise SnapshotError(
                f"Epoch {epoch}: this worker holds {self.num_rows} rows of schema "
                f"{dict(schema)}, the snapshot {snapshot.rows} of {dict(snapshot.schema)}."
            )
        if digest(self.ingest.vocabularies) != snapshot.vocabularies:
            late = (
                " This worker never read the files that had left the chief's window before it came "
                "to them, so it lacks their strings: start every worker together."
                if self.ingest.files_left
                else ""
            )
            raise SnapshotError(
                f"Epoch {epoch}: this worker's string vocabularies differ from the chief's, though "
                "they took the same files (different defaults or na_values?); ids would mean other "
                f"strings.{late}"
            )
        self.snapshots[epoch] = snapshot
        return snapshot.seed

    def _snapshot(self, epoch: int) -> EpochSnapshot:
        if self._run_seed is None:
            self._run_seed = self.seed if self.seed is not None else secrets.randbits(63)
        index = {path: i for i, path in enumerate(self.ingest.accepted)}
        return EpochSnapshot(
            run=self._run.run,
            epoch=epoch,
            seed=self._run_seed,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            num_workers=self.role.count,
            labels=tuple(self.labels),
            schema=self._schema_pairs(),
            vocabularies=digest(self.ingest.vocabularies),
            on_bad_row=self.ingest.on_bad_row,
            files=tuple(
                SnapshotFile(self.ingest.watcher.relative(r.path), r.rows, r.size, r.mtime_ns)
                for r in self.ingest.accepted.values()
            ),
            files_left=self.ingest.files_left,
            pieces=tuple((index[path], end, rows) for path, end, rows in self.ingest.piece_ends),
        )

    def _schema_pairs(self) -> tuple[tuple[str, str], ...]:
        """The schema's `(name, dtype)` pairs; none before a file set it."""
        return () if self.ingest.schema is None else self.ingest.schema.columns

    def _check_agreement(self, snapshot: EpochSnapshot) -> None:
        mine = {
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "num_workers": self.role.count,
            "labels": tuple(self.labels),
            "on_bad_row": self.ingest.on_bad_row,
        }
        if self.seed is not None:
            mine["seed"] = self.seed
        differ = {k: (v, getattr(snapshot, k)) for k, v in mine.items() if getattr(snapshot, k) != v}
        if differ:
            detail = ", ".join(f"{k}: {a!r} here, {b!r} on the chief" for k, (a, b) in differ.items())
            raise SnapshotError(f"This worker's settings differ from the chief's: {detail}.")

    @contextlib.contextmanager
    def serving(self, model, class_weight: dict | None):
        """A worker pads per replica (`epoch_input`), never to `batch_size`."""
        yield class_weight

    def epoch_input(self, dataset: tf.data.Dataset) -> tf.distribute.DistributedDataset:
        """This worker's part of every global batch, as a distributed dataset."""
        strategy = self.strategy
        num_replicas = strategy.num_replicas_in_sync

        def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
            # One replica per worker (WorkerRole), so the pipeline id is the replica's part.
            return replica_batches(dataset, num_replicas, context.input_pipeline_id)

        # A dataset from a function is neither sharded nor rebatched by TF:
        # each worker gets exactly its part of every global batch.
        return strategy.distribute_datasets_from_function(dataset_fn)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._run = None
        self._run_seed = None

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        self.end_run("finished")

    def end_run(self, reason: str) -> None:
        """On the chief, tells the followers that the run is over (`end.json`)."""
        if self._run is not None and self.is_chief:
            try:
                self._run.publish_end(reason)
            except tf.errors.OpError as e:
                logger.warning("Could not write %s: %s", self._run.end_path, e.message)
