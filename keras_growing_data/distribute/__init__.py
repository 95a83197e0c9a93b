"""Several workers train one model data-parallel over one growing folder.

The engine is TensorFlow's `tf.distribute.MultiWorkerMirroredStrategy`
(MWMS): every worker holds a copy of the model, and the gradients of each
step are all-reduced by TF's collectives. This package adds no collective of
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

Keras 3.15's `fit` needs two patches under MWMS: see `keras_fixes`.
"""
