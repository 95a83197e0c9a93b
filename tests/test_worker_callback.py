import dataclasses
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import CITIES, OLD, id_rows, run_python, snapshot_of, write_csv

import keras_growing_data as kgd
from keras_growing_data.distribute.follower_ingest import ingest_snapshot
from keras_growing_data.distribute.local_ports import free_ports
from keras_growing_data.distribute.replica_batches import replica_batches
from keras_growing_data.distribute.worker_role import WorkerRole
from keras_growing_data.errors import SnapshotError
from keras_growing_data.sources.ingest_parts import build_ingest


def test_replica_batches_give_every_row_once_in_equal_shapes():
    ids = np.arange(37, dtype="float32")
    dataset = tf.data.Dataset.from_tensor_slices((ids[:, None], ids)).batch(16)
    parts = [list(replica_batches(dataset, 2, r)) for r in range(2)]
    assert len(parts[0]) == len(parts[1]) == 3
    trained = []
    for step, ((x0, y0, w0), (x1, y1, w1)) in enumerate(zip(*parts, strict=True)):
        assert x0.shape == x1.shape and y0.shape == y1.shape and w0.shape == w1.shape
        for x, w in ((x0, w0), (x1, w1)):
            trained += [int(i) for i in x.numpy()[w.numpy() > 0, 0]]
        weights = np.concatenate([w0, w1])
        if step < 2:
            np.testing.assert_array_equal(weights, 1.0)
        else:  # 5 rows padded to 6: weights 6/5 and one 0.
            np.testing.assert_allclose(weights, [1.2] * 5 + [0.0], rtol=1e-7)
            assert x1.numpy()[-1, 0] in ids[32:]  # Padded with a real row, never NaN.
    assert sorted(trained) == list(range(37))


def test_padded_parts_give_the_unpadded_batch_mean_loss():
    rng = np.random.default_rng(0)
    for n, replicas in [(5, 2), (1, 2), (7, 3), (16, 4)]:
        loss = rng.uniform(size=n).astype("float32")
        dataset = tf.data.Dataset.from_tensors((loss[:, None], loss))
        total = 0.0
        for r in range(replicas):
            x, _, w = next(iter(replica_batches(dataset, replicas, r)))
            # Keras: sum_over_batch_size per replica, scaled by 1/replicas, summed.
            total += float(np.sum(x.numpy()[:, 0] * w.numpy()) / len(w)) / replicas
        np.testing.assert_allclose(total, loss.mean(), rtol=1e-6)


def test_follower_ingests_exactly_the_snapshot_in_its_order(folder):
    write_csv(folder / "a.csv", id_rows(0, 5))
    write_csv(folder / "b.csv", id_rows(5, 3))
    write_csv(folder / "extra.csv", id_rows(8, 4))  # In the folder, not in the snapshot.
    ingest = build_ingest(folder, label="price", settle_seconds=0, on_bad_file="quarantine")
    assert ingest_snapshot(ingest, snapshot_of(folder, ["b.csv"])) == [str(folder / "b.csv")]
    new = ingest_snapshot(ingest, snapshot_of(folder, ["b.csv", "a.csv"], epoch=1))
    assert new == [str(folder / "a.csv")]
    assert list(ingest.accepted) == [str(folder / "b.csv"), str(folder / "a.csv")]
    assert ingest.num_rows == 8
    assert ingest_snapshot(ingest, snapshot_of(folder, ["b.csv", "a.csv"], epoch=2)) == []
    # Only the chief may move a file: a follower that cannot read one never quarantines it,
    # and leaves the ingest's own option as it was.
    write_csv(folder / "c.csv", [(20, "n/a", 1)])
    with pytest.raises(SnapshotError, match="c.csv .* is rejected on this worker"):
        ingest_snapshot(ingest, snapshot_of(folder, ["b.csv", "a.csv", "c.csv"], epoch=3))
    assert (folder / "c.csv").exists() and not (folder / "_rejected").exists()
    assert ingest.on_bad_file == "quarantine"


def test_follower_fails_loudly_on_a_file_it_cannot_reproduce(folder):
    write_csv(folder / "a.csv", id_rows(0, 5))
    write_csv(folder / "b.csv", id_rows(5, 3))
    snapshot = snapshot_of(folder, ["a.csv", "b.csv"])
    ingest = build_ingest(folder, label="price", settle_seconds=0)

    os.remove(folder / "b.csv")
    with pytest.raises(SnapshotError, match=r"b\.csv .*accepted by the chief.* does not exist"):
        ingest_snapshot(ingest, snapshot)
    write_csv(folder / "b.csv", id_rows(5, 3), mtime=OLD + 5)
    with pytest.raises(SnapshotError, match="not the version the chief accepted"):
        ingest_snapshot(ingest, snapshot)
    with open(folder / "b.csv", "w") as f:  # Same size and time as the chief's, bad content.
        f.write("id,x,price\n5,1,3\n6,2,5\n7,3,n/\n")
    os.utime(folder / "b.csv", ns=(OLD * 10**9, OLD * 10**9))
    broken = snapshot_of(folder, ["a.csv", "b.csv"])
    with pytest.raises(SnapshotError, match=r"rejected on this worker: line 4, column 'price'"):
        ingest_snapshot(ingest, broken)
    assert os.path.exists(folder / "b.csv")  # Never moved by a follower.

    write_csv(folder / "b.csv", id_rows(5, 3))
    other = build_ingest(folder, label="price", settle_seconds=0)
    other.poll()  # A follower that scanned the folder itself holds a.csv first.
    with pytest.raises(SnapshotError, match="does not list first"):
        ingest_snapshot(other, snapshot_of(folder, ["b.csv"]))


def test_follower_fails_on_a_different_row_count(folder):
    write_csv(folder / "a.csv", id_rows(0, 5))
    snapshot = snapshot_of(folder, ["a.csv"])
    wrong = dataclasses.replace(snapshot, files=(dataclasses.replace(snapshot.files[0], rows=4),))
    with pytest.raises(SnapshotError, match="gives 5 rows on this worker and 4 on the chief"):
        ingest_snapshot(build_ingest(folder, label="price", settle_seconds=0), wrong)


def test_files_in_sub_folders_are_named_by_their_path_in_the_folder(folder):
    (folder / "dt=1").mkdir()
    write_csv(folder / "dt=1" / "a.csv", id_rows(0, 5))
    write_csv(folder / "a.csv", id_rows(5, 3))  # Its basename is the other file's.
    options = {"label": "price", "settle_seconds": 0, "recursive": True}
    chief = kgd.WorkerDataCallback(folder, batch_size=4, strategy=tf.distribute.get_strategy(), **options)
    chief.epoch_dataset(0)
    snapshot = chief.snapshots[0]
    assert [f.name for f in snapshot.files] == ["a.csv", "dt=1/a.csv"]
    follower = build_ingest(folder, **options)
    assert ingest_snapshot(follower, snapshot) == [str(folder / "a.csv"), str(folder / "dt=1" / "a.csv")]
    assert follower.num_rows == 8


def test_a_follower_takes_the_chiefs_appended_pieces_in_order_and_its_window_edge(folder):
    a = write_csv(folder / "a.csv", id_rows(0, 2), mtime=OLD)
    options = {"label": "price", "settle_seconds": 0, "appends": "tail", "window": kgd.Window(files=3)}
    chief = kgd.WorkerDataCallback(folder, batch_size=4, strategy=tf.distribute.get_strategy(), **options)
    follower = build_ingest(folder, **options)

    def follow(epoch):
        chief.epoch_dataset(epoch)
        ingest_snapshot(follower, chief.snapshots[epoch])
        rows = [int(v) for batch in follower.dataset(64, False, None) for v in batch["float32"].numpy()[:, 0]]
        chief_rows = [
            int(v) for b in chief.ingest.dataset(64, False, None) for v in b["float32"].numpy()[:, 0]
        ]
        assert rows == chief_rows
        return rows

    assert follow(0) == [0, 1]
    with open(a, "a") as f:
        f.write("2,2,5\n3,3,7\n4,")  # The chief reads up to the partial line; so does the follower.
    write_csv(folder / "b.csv", id_rows(10, 1), mtime=OLD + 1)
    assert follow(1) == [0, 1, 10, 2, 3]
    assert chief.snapshots[1].pieces == ((0, 23, 2), (1, 18, 1), (0, 35, 2))
    with open(a, "a") as f:
        f.write("4,6\n")  # The follower reads only what the chief read, though the file grew since.
    write_csv(folder / "c.csv", id_rows(20, 1), mtime=OLD + 2)
    assert follow(2) == [0, 1, 10, 2, 3, 20, 4]
    write_csv(folder / "d.csv", id_rows(30, 1), mtime=OLD + 3)
    assert follow(3) == [10, 20, 30]
    assert (chief.snapshots[3].files_left, follower.files_left) == (1, 1)
    assert follower.tails[str(folder / "b.csv")].offset == 18 and a not in follower.tails


@pytest.mark.parametrize("appends", ["warn", "tail"])
def test_a_follower_that_comes_late_counts_the_files_that_left_without_reading_them(folder, appends):
    options = {"label": "price", "settle_seconds": 0, "appends": appends, "window": kgd.Window(files=1)}
    chief = kgd.WorkerDataCallback(folder, batch_size=4, strategy=tf.distribute.get_strategy(), **options)
    for epoch in range(3):
        write_csv(folder / f"f{epoch}.csv", id_rows(10 * epoch, 2), mtime=OLD + epoch)
        chief.epoch_dataset(epoch)
    os.remove(folder / "f0.csv")  # A retention job deleted what left.
    os.remove(folder / "f1.csv")
    late = build_ingest(folder, **options)
    assert ingest_snapshot(late, chief.snapshots[2]) == [str(folder / "f2.csv")]
    assert (late.files_left, late.num_rows, len(late.accepted)) == (2, 2, 3)
    rows = [int(v) for batch in late.dataset(64, False, None) for v in batch["float32"].numpy()[:, 0]]
    assert rows == [20, 21]


def test_single_process_is_its_own_chief():
    assert WorkerRole.from_strategy(tf.distribute.get_strategy()) == WorkerRole(0, 1, True)


# Two local worker processes ---------------------------------------------------

MAX_IDS = 200


class Counter:
    """Per-worker counts of the row ids trained, in a variable local to each worker."""

    def __init__(self):
        self.strategy = tf.distribute.get_strategy()  # Made in the scope: the run's strategy.
        self.seen = tf.Variable(
            tf.zeros([MAX_IDS]),
            trainable=False,
            synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.SUM,
        )

    def local(self):  # This worker's own counts: reading them is no collective.
        return self.strategy.experimental_local_results(self.seen)


def write_typed_csv(path, first_id, count):
    """Rows `(id, x, price, city)`: numbers and a string column whose ids every worker must agree on."""
    rows = [(*row, CITIES[row[0] % 4]) for row in id_rows(first_id, count)]  # Names without commas.
    return write_csv(path, rows, header=("id", "x", "price", "city"))


class CountingModel(keras.Model):
    """Counts, in `train_step`, each row id trained with a weight > 0; embeds the city ids."""

    def __init__(self, counter):
        super().__init__()
        init = keras.initializers.GlorotUniform
        self.embed = keras.layers.Embedding(16, 2, embeddings_initializer=init(seed=3))
        self.hidden = keras.layers.Dense(4, activation="relu", kernel_initializer=init(seed=1))
        self.out = keras.layers.Dense(1, kernel_initializer=init(seed=2))
        self.counter = counter

    def call(self, x):
        features = keras.ops.concatenate([keras.ops.expand_dims(x["x"], 1), self.embed(x["city"])], axis=1)
        return self.out(self.hidden(features))

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        keep = tf.ones_like(x["id"]) if sample_weight is None else tf.cast(sample_weight > 0, tf.float32)
        ids = tf.cast(x["id"], tf.int32)
        self.counter.seen.assign_add(
            tf.math.bincount(ids, weights=keep, minlength=MAX_IDS, maxlength=MAX_IDS)
        )
        return super().train_step(data)


class GrowAndCount(keras.callbacks.Callback):
    """Grows the folder between epochs (on the chief only) and records each epoch's counts."""

    def __init__(self, folder, counter, chief):
        super().__init__()
        self.folder, self.counter, self.chief, self.seen = folder, counter, chief, {}

    def on_epoch_begin(self, epoch, logs=None):
        for v in self.counter.local():
            v.assign(tf.zeros([MAX_IDS]))
        if self.chief and epoch == 1:  # After epoch 1's snapshot: joins at epoch 2.
            write_typed_csv(os.path.join(self.folder, "late.csv"), 62, 9)

    def on_epoch_end(self, epoch, logs=None):
        self.seen[epoch] = [int(c) for c in sum(v.numpy() for v in self.counter.local())]
        if self.chief and epoch == 0:
            write_typed_csv(os.path.join(self.folder, "b.csv"), 37, 25)
        if self.chief and epoch == 2:
            write_typed_csv(os.path.join(self.folder, "c.csv"), 71, 9)
            write_typed_csv(os.path.join(self.folder, "d.csv"), 80, 1)


def train_and_save(out, folder, strategy=None, batch_size=16):
    """Trains 4 epochs on `folder`, alone or as a worker of `strategy`; saves what it saw."""

    def model():
        counter = Counter()
        m = CountingModel(counter)
        m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        return m, counter

    args = dict(label="price", batch_size=batch_size, seed=11, settle_seconds=0, strings_as="index")
    if strategy is None:
        model, counter = model()
        data = kgd.GrowingDataCallback(folder, **args)
        trainer, chief = kgd.GrowingDatasetTrainer(model, data), True
    else:
        with strategy.scope():
            model, counter = model()
        data = kgd.WorkerDataCallback(folder, snapshot_timeout=60, strategy=strategy, **args)
        trainer, chief = kgd.MultiWorkerTrainer(model, data), data.is_chief
    record = GrowAndCount(folder, counter, chief)
    history = trainer.fit(epochs=4, callbacks=[record], verbose=0)
    np.savez(f"{out}.npz", *[w.numpy() for w in model.trainable_weights])
    result = {
        "chief": chief,
        "rows": history.history["rows"],
        "files": history.history["files"],
        "loss": history.history["loss"],
        "seen": record.seen,
        "accepted": [os.path.basename(p) for p in data.accepted],
        "rejected": [os.path.basename(p) for p in data.rejected],
        "schema": data.schema,
        "vocabulary": data.vocabulary("city"),
    }
    with open(f"{out}.json", "w") as f:
        json.dump(result, f)


WORKER = """
import json, os, sys
out, folder, index, ports, batch_size = sys.argv[1:6]
index, ports = int(index), ports.split(",")
os.environ["TF_CONFIG"] = json.dumps({
    "cluster": {"worker": [f"localhost:{port}" for port in ports]},
    "task": {"type": "worker", "index": index}})
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(2)
from test_worker_callback import train_and_save
train_and_save(out, folder, tf.distribute.MultiWorkerMirroredStrategy(), int(batch_size))
"""


def run_together(tmp_path, commands, timeout, meanwhile=None, stop_on_failure=True):
    """Runs the commands at once, and `meanwhile()` here; returns their exit codes and logs.

    Every process is killed once `timeout` seconds have passed, and, with
    `stop_on_failure`, as soon as one fails: nothing can hang the test run.
    """
    tests = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join(filter(None, [tests, os.path.dirname(tests), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": path}
    logs = [tmp_path / f"process-{i}.log" for i in range(len(commands))]
    deadline = time.monotonic() + timeout
    processes = []
    try:
        for command, log in zip(commands, logs, strict=True):
            with open(log, "wb") as f:
                processes.append(
                    subprocess.Popen([sys.executable, *command], env=env, stdout=f, stderr=subprocess.STDOUT)
                )
        if meanwhile is not None:
            meanwhile()
        while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
            if stop_on_failure and any(p.returncode not in (None, 0) for p in processes):
                break
            time.sleep(0.1)
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
            p.wait()
    codes = [p.returncode for p in processes]
    tails = "\n".join(
        f"--- process {i} (exit {code}):\n{log.read_text()[-3000:]}"
        for i, (code, log) in enumerate(zip(codes, logs, strict=True))
    )
    return codes, tails


def test_two_workers_train_identical_weights_on_exact_epochs(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    for folder in (shared, alone):
        folder.mkdir()
        write_typed_csv(folder / "a.csv", 0, 37)
        write_csv(folder / "bad.csv", [(1, "n/a", 3, "Oslo")], header=("id", "x", "price", "city"))
    ports = ",".join(map(str, free_ports(2)))
    out = [str(tmp_path / f"worker{i}") for i in range(2)] + [str(tmp_path / "single")]
    commands = [[str(script), out[i], str(shared), str(i), ports, "16"] for i in range(2)]
    # The single-process reference trains here while the workers start.
    codes, logs = run_together(
        tmp_path, commands, timeout=600, meanwhile=lambda: train_and_save(out[2], str(alone))
    )
    assert codes == [0, 0], logs

    chief, follower, single = [json.loads(open(f"{name}.json").read()) for name in out]
    assert (chief["chief"], follower["chief"]) == (True, False)

    # Same epochs on both workers, as the single process saw the folder grow.
    expected_rows = [37, 62, 71, 81]
    for result in (chief, follower, single):
        assert result["rows"] == expected_rows
        assert result["files"] == [1, 2, 3, 5]
    assert chief["accepted"] == follower["accepted"] == ["a.csv", "b.csv", "late.csv", "c.csv", "d.csv"]
    assert chief["rejected"] == ["bad.csv"] and follower["rejected"] == []
    # The same schema and the same string ids everywhere (the weights below embed those ids).
    for result in (follower, single):
        assert result["schema"] == chief["schema"] and result["vocabulary"] == chief["vocabulary"]
    assert chief["schema"] == {"id": "float32", "x": "float32", "price": "float32", "city": "string"}
    assert chief["vocabulary"] == ["[UNK]", *CITIES[:4]]
    assert chief["loss"] == follower["loss"]
    # Epoch 1 has no padded batch; in the others Keras's loss tracker counts the padding rows.
    np.testing.assert_allclose(chief["loss"][1], single["loss"][1], rtol=1e-6)

    # Every accepted row trained exactly once per epoch, across the workers.
    for epoch, rows in enumerate(expected_rows):
        e = str(epoch)
        seen = np.array(chief["seen"][e]) + np.array(follower["seen"][e])
        np.testing.assert_array_equal(seen[:rows], 1, err_msg=f"epoch {epoch}")
        assert seen[rows:].sum() == 0, f"epoch {epoch} trained rows not yet in its snapshot"
        assert sum(chief["seen"][e]) == rows - rows // 2 and sum(follower["seen"][e]) == rows // 2
        np.testing.assert_array_equal(single["seen"][e][:rows], 1)

    # Bitwise-identical weights, and single-process training's within 1e-6.
    weights = [np.load(f"{name}.npz") for name in out]
    assert len(weights[0].files) == 5
    for key in weights[0].files:
        assert weights[0][key].tobytes() == weights[1][key].tobytes(), key
        np.testing.assert_allclose(weights[0][key], weights[2][key], rtol=0, atol=1e-6, err_msg=key)

    runs = os.listdir(shared / "_workers")
    assert len(runs) == 1
    published = sorted(os.listdir(shared / "_workers" / runs[0]))
    assert published == sorted([f"epoch-{e:08d}.json" for e in range(4)] + ["end.json"])
    end = json.loads((shared / "_workers" / runs[0] / "end.json").read_text())
    assert end == {"epochs": [0, 1, 2, 3], "reason": "finished"}


def test_a_follower_that_cannot_follow_fails_and_the_chief_stops_too(tmp_path, folder):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    write_typed_csv(folder / "a.csv", 0, 37)
    ports = ",".join(map(str, free_ports(2)))
    out = [str(tmp_path / f"worker{i}") for i in range(2)]
    # The follower is given another batch size: it must refuse the chief's epochs.
    commands = [[str(script), out[i], str(folder), str(i), ports, size] for i, size in enumerate(["16", "8"])]
    codes, logs = run_together(tmp_path, commands, timeout=600, stop_on_failure=False)
    assert -signal.SIGKILL not in codes, logs  # Both ended by themselves, not at the deadline.
    assert codes[0] not in (0, None) and codes[1] not in (0, None), logs
    assert "SnapshotError: This worker's settings differ from the chief's: batch_size: 8 here, 16" in logs
    # The chief, blocked in a collective, is released by TF's peer health check.
    assert "Collective ops is aborted" in logs
    (run,) = os.listdir(folder / "_workers")
    end = json.loads((folder / "_workers" / run / "end.json").read_text())
    assert end["reason"].startswith("failed: ") and "Collective ops is aborted" in end["reason"]
    assert end["epochs"] == [0]


def test_the_worker_trainer_takes_fit_s_arguments_and_refuses_what_it_cannot_do_yet(folder):
    import inspect

    assert inspect.signature(kgd.MultiWorkerTrainer.fit) == inspect.signature(kgd.GrowingDatasetTrainer.fit)
    write_csv(folder / "a.csv", id_rows(0, 8))
    strategy = tf.distribute.get_strategy()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    data = kgd.WorkerDataCallback(folder, label="price", batch_size=4, settle_seconds=0, strategy=strategy)
    trainer = kgd.MultiWorkerTrainer(model, data)
    (folder.parent / "val").mkdir()
    validation = kgd.GrowingDataCallback(folder.parent / "val", label="price")
    with pytest.raises(NotImplementedError, match="does not run validation yet"):
        trainer.fit(epochs=1, validation_data=validation)
    with pytest.raises(NotImplementedError, match="does not take class_weight"):
        trainer.fit(epochs=1, class_weight={0: 1.0})
    with pytest.raises(ValueError, match="validation_split is not supported"):
        trainer.fit(epochs=1, validation_split=0.5)
    assert data.accepted == {}, "refused before the folder was read"


TENSORFLOW_ONLY_SCRIPT = """
import keras
import keras_growing_data as kgd

assert keras.backend.backend() == "jax"
for make in (lambda: kgd.WorkerDataCallback(sys.argv[1], "price", batch_size=8),
             lambda: kgd.MultiWorkerTrainer(keras.Sequential([keras.layers.Dense(1)]), None)):
    try:
        make()
    except RuntimeError as e:
        print(e)
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs jax (pip install jax)")
def test_multi_worker_training_on_another_backend_fails_saying_it_needs_tensorflow(folder, tmp_path):
    done = run_python(tmp_path, TENSORFLOW_ONLY_SCRIPT, folder, env={"KERAS_BACKEND": "jax"})
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 2
    for name, line in zip(("WorkerDataCallback", "MultiWorkerTrainer"), lines, strict=True):
        assert line.startswith(f"{name} (multi-worker training on tf.distribute) needs Keras's TensorFlow")
        assert "runs Keras on 'jax'" in line and "keras.distribution.DataParallel" in line
