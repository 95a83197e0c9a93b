"""Trains one model data-parallel on several workers over one growing folder.

The engine is TensorFlow's `tf.distribute.MultiWorkerMirroredStrategy`
(MWMS): every worker holds a copy of the model, and the gradients of each
step are all-reduced by TF's collectives. This module adds no collective of
its own; it only makes sure that every worker feeds those collectives the
same epochs, which a folder that grows cannot promise by itself: two workers
that poll it on their own may see different files at a boundary, then run a
different number of steps, and the collectives deadlock or fail.

So one worker, the chief, decides each epoch: at the boundary it polls the
folder as `GrowingDataCallback` does, then writes an *epoch snapshot* (the
accepted files in acceptance order, with their sizes, modification times and
row counts, the shuffle seed and the batch size) as one JSON file, atomically,
into a shared snapshot folder (by default `_workers/` inside the data folder,
which the watcher never reads). The other workers, followers, never scan the
folder: each waits for that epoch's snapshot (with a timeout and a clear
error) and ingests exactly the files it lists, in that order. A follower that
cannot read a file the chief accepted, or reads it differently, fails loudly
(`SnapshotError`); it never skips or adds a file.

Given the same rows in the same order and the same seed, every worker builds
the same global batches. Each global batch is cut into one equal part per
worker (`replica_batches`), so one global step trains exactly the global
batch that single-process training would, and every accepted row is trained
exactly once per epoch across the workers. A last batch whose row count is
not a multiple of the number of workers is padded with copies of its rows
that have sample weight 0, and its real rows get the weight
`padded_rows / rows`: every worker runs the same number of steps on batches
of the same shape (so no collective waits for a missing batch), no row is
dropped, and with Keras's default loss reduction (`"sum_over_batch_size"`)
the step's loss and gradient equal those of the unpadded batch.

Launching (one process per host, or per GPU; the same script everywhere):

```python
# TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
#             "task": {"type": "worker", "index": 0}}'   # index 1 on host1
strategy = tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG
with strategy.scope():
    model = build_and_compile_model()
data = WorkerDataCallback("/shared/incoming", "price", batch_size=64, seed=1, strategy=strategy)
history = MultiWorkerTrainer(model, data).fit(epochs=20)
```

Worker 0 (or the `"chief"` task, if the cluster has one) is the chief. The
data folder, and the snapshot folder, must be shared by all workers (NFS, or
any `tf.io.gfile` URL such as `gs://`). `batch_size` is the global batch, a
multiple of the number of workers.

Measured on Keras 3.15.1 / TF 2.21.0 (CPU, two local processes): Keras's own
`fit` fails under MWMS in two places (TF issue #72388 points at Keras);
`keras_multi_worker_fixes` patches both, for the duration of
`MultiWorkerTrainer.fit` only.
"""

import dataclasses
import logging
import posixpath
import secrets

import keras
import tensorflow as tf

from keras_growing_data.arguments import check_number, check_path
from keras_growing_data.callback import GrowingDataCallback, epoch_seed
from keras_growing_data.ingest import FolderIngest
from keras_growing_data.keras_fixes import keras_multi_worker_fixes
from keras_growing_data.snapshot import (
    SNAPSHOT_FOLDER,
    EpochSnapshot,
    SnapshotError,
    SnapshotFile,
    SnapshotFolder,
)
from keras_growing_data.trainer import GrowingDatasetTrainer

logger = logging.getLogger("keras_growing_data")


@dataclasses.dataclass(frozen=True)
class WorkerRole:
    """This process's place in the cluster: its index, the worker count, chief or not."""

    index: int
    count: int
    is_chief: bool

    @classmethod
    def from_strategy(cls, strategy: tf.distribute.Strategy) -> "WorkerRole":
        """Reads the role from the strategy's cluster (TF_CONFIG for MWMS).

        The chief is the `"chief"` task if the cluster has one, else worker 0
        (TensorFlow's rule). Without a cluster, the process is alone and chief.

        Raises:
            NotImplementedError: a worker has more than one replica.
        """
        resolver = getattr(strategy, "cluster_resolver", None)
        cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
        tasks = [("chief", i) for i in range(len(cluster.get("chief", [])))]
        tasks += [("worker", i) for i in range(len(cluster.get("worker", [])))]
        count = max(len(tasks), 1)
        if strategy.num_replicas_in_sync != count:
            raise NotImplementedError(
                f"Each worker must have one replica; here {count} workers have "
                f"{strategy.num_replicas_in_sync}. On hosts with several GPUs, run one worker "
                "process per GPU (CUDA_VISIBLE_DEVICES), each with its own TF_CONFIG task."
            )
        if not tasks:
            return cls(0, 1, True)
        index = tasks.index((resolver.task_type, resolver.task_id))
        return cls(index, count, index == 0)


def ingest_snapshot(ingest: FolderIngest, snapshot: EpochSnapshot) -> list[str]:
    """Makes a follower's accepted files exactly the snapshot's; returns the new paths.

    The follower must already hold a prefix of the snapshot's files (usually
    the previous epoch's); the rest are ingested one by one, in the
    snapshot's order, without scanning the folder. Each must be the version
    the chief accepted (size and modification time) and give the same row
    count. Rejection is never quiet here: `on_bad_file` is forced to
    `"reject"`, because only the chief may move a file.

    Raises:
        SnapshotError: the follower cannot reproduce the snapshot.
    """
    ingest.on_bad_file = "reject"
    paths = [posixpath.join(ingest.directory, f.name) for f in snapshot.files]
    have = list(ingest.accepted)
    if have != paths[: len(have)]:
        raise SnapshotError(
            f"This worker holds files the chief's snapshot of epoch {snapshot.epoch} does not list "
            f"first, in that order (this worker: {have[:5]}..., snapshot: {paths[:5]}...). "
            "Followers take files from the chief only: give them their own state_dir, or none."
        )
    todo = list(zip(snapshot.files[len(have) :], paths[len(have) :], strict=True))
    stats = []
    for record, path in todo:
        where = f"{path} (accepted by the chief for epoch {snapshot.epoch})"
        stat = ingest.watcher.current(path)
        if stat is None:
            raise SnapshotError(f"{where} does not exist on this worker: is the data folder shared?")
        if stat.problem:
            raise SnapshotError(f"{where} cannot be read on this worker: it {stat.problem}")
        if (stat.size, stat.mtime_ns) != (record.size, record.mtime_ns):
            raise SnapshotError(
                f"{where} is not the version the chief accepted: size {record.size} -> {stat.size} "
                f"bytes, mtime {record.mtime_ns} -> {stat.mtime_ns} ns. Files must not change once "
                "written (write new data to a new file)."
            )
        stats.append(stat)
    ingest.ingest_files(stats)
    for record, path in todo:
        where = f"{path} (accepted by the chief for epoch {snapshot.epoch})"
        if path not in ingest.accepted:
            raise SnapshotError(f"{where} is rejected on this worker: {ingest.rejected[path].reason}")
        rows = ingest.accepted[path].rows
        if rows != record.rows:
            raise SnapshotError(
                f"{where} gives {rows} rows on this worker and {record.rows} on the chief "
                "(different on_bad_row or max_line_bytes?)."
            )
    return [path for _, path in todo]


def replica_batches(dataset: tf.data.Dataset, num_replicas: int, replica: int) -> tf.data.Dataset:
    """One replica's part of every global `(x, y)` batch, as `(x, y, sample_weight)`.

    A global batch of `n` rows is cut into `num_replicas` parts of
    `ceil(n / num_replicas)` rows, and replica `r` takes part `r`. When `n`
    is not a multiple of `num_replicas`, the batch is padded to one with
    copies of its first rows (real values, so no NaN can arise), which get
    sample weight 0, while its real rows get `padded / n`. So all replicas
    run the same number of steps on batches of the same shape, each real row
    is in exactly one part, and with `"sum_over_batch_size"` losses (mean over
    each part, scaled by `1 / num_replicas` and summed by the all-reduce) a
    step's loss and gradient are those of the unpadded global batch. Full
    batches get weight exactly 1.

    Args:
        dataset: global batches `(x, y)`; `y` may be a tuple.
        num_replicas: replicas in sync, across all workers.
        replica: this part's index, in `[0, num_replicas)`.
    """

    def part(x, y):
        n = tf.shape(tf.nest.flatten(x)[0])[0]
        per_replica = (n + num_replicas - 1) // num_replicas
        padded = per_replica * num_replicas
        rows = tf.range(replica * per_replica, (replica + 1) * per_replica)
        real_weight = tf.cast(padded, tf.float32) / tf.cast(n, tf.float32)
        weight = tf.where(rows < n, real_weight, tf.zeros([], tf.float32))
        index = rows % n

        def take(t):
            return tf.gather(t, index)

        return tf.nest.map_structure(take, x), tf.nest.map_structure(take, y), weight

    return dataset.map(tf.autograph.experimental.do_not_convert(part))


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
            acts on the chief only.
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
        return self.role.is_chief

    def poll(self) -> list[str]:
        """On the chief, ingests every complete new file; on a follower, nothing.

        A follower takes files only from the chief's snapshots, at each epoch.
        """
        if not self.is_chief:
            return []
        return super().poll()

    def wait_for_rows(self, seconds: float = 0) -> None:
        """Waits for the first rows: the chief polls, a follower waits for its first snapshot.

        A follower's rows come with the chief's first snapshot, so it only
        adds `seconds` to that wait.
        """
        if self.is_chief:
            super().wait_for_rows(seconds)
        else:
            self._first_wait = seconds

    def epoch_dataset(self, epoch: int) -> tf.distribute.DistributedDataset:
        """Settles the epoch's snapshot and returns this worker's distributed dataset.

        The chief polls and publishes the snapshot; a follower waits for it
        and ingests exactly its files. Collective: every worker must call it
        for the same epochs (the first call agrees on a run id).
        """
        with self._lock:
            if self._run is None:
                self._run = SnapshotFolder(self.snapshot_dir, _agree_on_run_id(self.strategy, self.is_chief))
                wait = self.snapshot_timeout + self._first_wait
            else:
                wait = self.snapshot_timeout
            if self.is_chief:
                super().poll()
                snapshot = self._snapshot(epoch)
                self._run.publish(snapshot)
            else:
                snapshot = self._run.wait(epoch, wait)
                self._check_agreement(snapshot)
                ingest_snapshot(self.ingest, snapshot)
            self._lineage = self.ingest.record_epoch(epoch)
            if self._lineage.rows != snapshot.rows or self.columns != snapshot.columns:
                raise SnapshotError(
                    f"Epoch {epoch}: this worker holds {self._lineage.rows} rows of columns "
                    f"{self.columns}, the snapshot {snapshot.rows} of {snapshot.columns}."
                )
            self.snapshots[epoch] = snapshot
            self.ingest.store.reseed(epoch_seed(snapshot.seed, epoch))
            return self._distribute(self.build_dataset())

    def _snapshot(self, epoch: int) -> EpochSnapshot:
        if self._run_seed is None:
            self._run_seed = self.seed if self.seed is not None else secrets.randbits(63)
        return EpochSnapshot(
            run=self._run.run,
            epoch=epoch,
            seed=self._run_seed,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            num_workers=self.role.count,
            labels=tuple(self.labels),
            columns=tuple(self.columns),
            on_bad_row="skip" if self.ingest.skip_bad_rows else "reject",
            files=tuple(
                SnapshotFile(posixpath.basename(r.path), r.rows, r.size, r.mtime_ns)
                for r in self.accepted.values()
            ),
        )

    def _check_agreement(self, snapshot: EpochSnapshot) -> None:
        mine = {
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "num_workers": self.role.count,
            "labels": tuple(self.labels),
            "on_bad_row": "skip" if self.ingest.skip_bad_rows else "reject",
        }
        if self.seed is not None:
            mine["seed"] = self.seed
        differ = {k: (v, getattr(snapshot, k)) for k, v in mine.items() if getattr(snapshot, k) != v}
        if differ:
            detail = ", ".join(f"{k}: {a!r} here, {b!r} on the chief" for k, (a, b) in differ.items())
            raise SnapshotError(f"This worker's settings differ from the chief's: {detail}.")

    def _distribute(self, dataset: tf.data.Dataset) -> tf.distribute.DistributedDataset:
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


def _agree_on_run_id(strategy: tf.distribute.Strategy, is_chief: bool) -> str:
    """A run id drawn by the chief, learnt by every worker through one all-reduce.

    Uses the strategy's own collective (the chief contributes its random
    number, the others 0), so a snapshot left in the folder by an earlier run
    is never mistaken for this run's, whichever worker starts first.
    """
    token = secrets.randbits(62) if is_chief else 0

    @tf.function
    def agree():
        def replica_fn():
            value = tf.constant(token, tf.int64)
            return tf.distribute.get_replica_context().all_reduce("SUM", value)

        return strategy.run(replica_fn)

    value = strategy.experimental_local_results(agree())[0]
    return f"run-{int(value):016x}"


class MultiWorkerTrainer(GrowingDatasetTrainer):
    """`GrowingDatasetTrainer` for one worker of a multi-worker run.

    Run it on every worker, with the same model, arguments and callbacks;
    the model must be built and compiled inside `strategy.scope()`. It trains
    as `GrowingDatasetTrainer` does (one `fit` per epoch, callbacks that see
    one run), with the epochs settled by the chief (see `WorkerDataCallback`)
    and Keras's `fit` patched for MWMS while it runs
    (`keras_multi_worker_fixes`). Callbacks run on every worker; let only the
    chief write files (`data.is_chief`).

    Example:

    ```python
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = make_model()
    data = WorkerDataCallback("/shared/incoming", "price", batch_size=64, seed=1, strategy=strategy)
    history = MultiWorkerTrainer(model, data).fit(epochs=20)
    ```

    Args:
        model: a Keras model built and compiled in the strategy's scope.
        data: this worker's `WorkerDataCallback`.
    """

    def __init__(self, model: keras.Model, data: WorkerDataCallback):
        if not isinstance(data, WorkerDataCallback):
            raise TypeError(f"data must be a WorkerDataCallback, got {type(data).__name__}.")
        super().__init__(model, data)

    def fit(
        self,
        epochs: int = 1,
        callbacks: list[keras.callbacks.Callback] | None = None,
        verbose: str | int = "auto",
        initial_epoch: int = 0,
        wait_for_data: float = 0,
        validation_data=None,
        class_weight: dict | None = None,
    ) -> keras.callbacks.History:
        """Trains for `epochs` epochs; arguments as in `GrowingDatasetTrainer.fit`.

        `wait_for_data` is how long the chief waits for the first rows; the
        followers wait for its first snapshot that long plus
        `snapshot_timeout`.

        Raises:
            NotImplementedError: `validation_data` or `class_weight` given.
            ValueError: `steps_per_execution > 1`, or the model's strategy is
                not the data's.
        """
        if validation_data is not None:
            raise NotImplementedError("MultiWorkerTrainer does not run validation yet.")
        if class_weight is not None:
            raise NotImplementedError("MultiWorkerTrainer does not take class_weight.")
        if getattr(self.model, "steps_per_execution", 1) > 1:
            # Measured on Keras 3.15.1 / TF 2.21.0: fails under MWMS even with the fixes.
            raise ValueError("MultiWorkerTrainer needs steps_per_execution=1 (compile's default).")
        self.data.set_model(self.model)
        if self.model.distribute_strategy is not self.data.strategy:
            raise ValueError(
                "The model was not made in the data's strategy scope: build and compile it inside "
                "`with strategy.scope():`."
            )
        with keras_multi_worker_fixes():
            try:
                return super().fit(
                    epochs=epochs,
                    callbacks=callbacks,
                    verbose=verbose,
                    initial_epoch=initial_epoch,
                    wait_for_data=wait_for_data,
                )
            except BaseException as e:
                self.data.end_run(f"failed: {type(e).__name__}: {e}"[:500])
                raise
