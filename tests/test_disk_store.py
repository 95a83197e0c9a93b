import os
import signal

import numpy as np
import tensorflow as tf
from helpers import counting_model, id_rows, run_python, write_csv

import keras_growing_data as kgd
from keras_growing_data.storage.disk_store import DiskRowStore
from keras_growing_data.utils.scratch_arrays import ScratchArrays


def ids_of(dataset):
    return np.concatenate([batch["float32"][:, 0].numpy() for batch in dataset]).astype(int)


def test_disk_rows_give_the_same_epochs_as_memory(tmp_path):
    store = DiskRowStore(tmp_path, seed=3)
    for first, size in [(0, 5), (5, 40), (45, 1)]:
        ids = np.arange(first, first + size, dtype="float32")
        store.append({"float32": np.column_stack([ids, -ids]), "string": ids[:, None].astype("int32") % 5})
    dataset = store.dataset(batch_size=8)
    assert dataset.element_spec == {
        "float32": tf.TensorSpec([None, 2], tf.float32),
        "string": tf.TensorSpec([None, 1], tf.int32),
    }
    assert int(dataset.cardinality()) == 6
    first, second = ids_of(dataset), ids_of(dataset)
    assert sorted(first) == sorted(second) == list(range(46))
    assert list(first) != list(second)
    batches = list(store.dataset(batch_size=8, shuffle=False))
    np.testing.assert_array_equal(np.concatenate([b["float32"][:, 1] for b in batches]), -np.arange(46))
    np.testing.assert_array_equal(np.concatenate([b["string"][:, 0] for b in batches]), np.arange(46) % 5)
    assert len(list(tmp_path.glob("kgd-rows-*/rows-*.bin"))) == 2


def test_trainer_on_disk_storage_trains_every_row_once(folder, tmp_path):
    write_csv(folder / "a.csv", id_rows(0, 30))
    model, counts = counting_model()
    data = kgd.GrowingDataCallback(
        folder, label="price", batch_size=8, settle_seconds=0, storage="disk", storage_dir=tmp_path / "rows"
    )
    kgd.GrowingDatasetTrainer(model, data).fit(epochs=2, callbacks=[counts], verbose=0)
    for epoch in (0, 1):
        np.testing.assert_array_equal(counts.per_epoch[epoch][:30], 1)


LARGER_THAN_THE_CAP = """
import os
import keras_growing_data as kgd


def anonymous_mib():
    # Resident anonymous memory: what the process holds itself, leaving out
    # file pages that the kernel may drop (the memory map's among them).
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("RssAnon")).split()[1]) / 1024


warm, folder, storage, rows_dir = sys.argv[1:5]
kgd.GrowingDataCallback(warm, label="c9", settle_seconds=0).poll()  # TF's own start-up memory.
data = kgd.GrowingDataCallback(folder, label="c9", batch_size=4096, settle_seconds=0,
                               storage=storage, storage_dir=rows_dir)
before = anonymous_mib()
data.poll()
rows = sum(int(x.shape[0]) for x, _ in data.dataset)
print(rows, anonymous_mib() - before)
"""


def test_disk_storage_holds_data_larger_than_a_memory_cap(tmp_path):
    header = ",".join(f"c{i}" for i in range(10)) + "\n"
    body = "".join(f"{i},1,2,3,4,5,6,7,8,9\n" for i in range(100_000))
    warm, folder = tmp_path / "warm", tmp_path / "data"
    warm.mkdir()
    folder.mkdir()
    (warm / "w.csv").write_text(header + body[:1000])
    for n in range(24):  # 2.4 M rows x 10 float32 columns: 91.6 MiB parsed.
        (folder / f"part-{n:02d}.csv").write_text(header + body)
    rows_mib = 2_400_000 * 10 * 4 / 2**20
    used = {}
    for storage in ("disk", "memory"):
        run = run_python(tmp_path, LARGER_THAN_THE_CAP, warm, folder, storage, tmp_path / "rows")
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        rows, used[storage] = run.stdout.decode().split()[-2:]
        assert int(rows) == 2_400_000
    # Both processes pay the same start-up, parse and pass overheads, which vary with load
    # (a fixed 48 MiB cap failed at 48.2-49.1 MiB with both cores busy): compare the two.
    memory, disk = float(used["memory"]), float(used["disk"])
    assert memory >= 0.95 * rows_mib, used  # The memory store holds its rows.
    assert memory - disk >= 0.75 * rows_mib, used  # The disk store keeps them out of its memory.


GROWING_UNDER_A_LOW_FILE_LIMIT = """
import os, resource
import keras
from helpers import counting_model, id_rows, write_csv
import keras_growing_data as kgd

folder, rows_dir, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])


def held():
    # Open descriptors, and the maps of rows files: all of them, and those of deleted files.
    with open("/proc/self/maps") as f:
        maps = [line for line in f if "kgd-rows-" in line]
    return len(os.listdir("/proc/self/fd")), len(maps), sum("(deleted)" in line for line in maps)


class NewFileEachEpoch(keras.callbacks.Callback):
    held = {}

    def on_epoch_end(self, epoch, logs=None):
        self.held[epoch] = held()
        write_csv(os.path.join(folder, f"f{epoch + 1:04d}.csv"), id_rows(4 * epoch + 4, 4))


write_csv(os.path.join(folder, "f0000.csv"), id_rows(0, 4))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 60, hard))
data = kgd.GrowingDataCallback(
    folder, label="price", batch_size=8, settle_seconds=0, storage="disk", storage_dir=rows_dir,
    window=kgd.Window(files=1),
)
history = kgd.GrowingDatasetTrainer(counting_model()[0], data).fit(
    epochs=epochs, callbacks=[NewFileEachEpoch()], verbose=0
)
held = NewFileEachEpoch.held
print(held[20], held[epochs - 1], len(data.accepted), history.history["rows"][-1], sep="|")
"""


def test_a_dataset_rebuilt_every_epoch_holds_no_more_files_at_epoch_100_than_at_20(tmp_path):
    # Each epoch's dataset used to keep its memory maps (a descriptor each, and the disk of
    # replaced rows files) for the life of the process: 60 descriptors more than at the start
    # ran out before epoch 60.
    folder = tmp_path / "data"
    folder.mkdir()
    run = run_python(tmp_path, GROWING_UNDER_A_LOW_FILE_LIMIT, folder, tmp_path / "rows", 100)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    at_20, at_99, accepted, last_rows = run.stdout.decode().split("\n")[-2].split("|")
    assert at_20 == at_99, (at_20, at_99)
    assert at_99.endswith(", 1, 0)")  # One map: the live dataset's, of a file not deleted.
    assert (accepted, last_rows) == ("100", "4")


DISK_FULL = """
import os, resource, signal
import numpy as np
import tensorflow as tf
from keras_growing_data.storage.disk_store import DiskRowStore

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # A failed write, not a killed process.
store = DiskRowStore(sys.argv[1])
store.append({"float32": np.zeros((100, 2), "float32")})
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))  # The disk fills up mid-append.
try:
    store.append({"float32": np.ones((100, 2), "float32")})
except OSError:
    print("append failed")
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
store.append({"float32": np.full((3, 2), 7, "float32")})
rows = np.concatenate([b["float32"].numpy() for b in store.dataset(50, shuffle=False)])
print(store.num_rows, os.path.getsize(store.paths["float32"]), rows[-1].tolist(), float(rows[:100].sum()))
"""


def test_a_failed_append_leaves_no_partial_rows(tmp_path):
    run = run_python(tmp_path, DISK_FULL, tmp_path)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert run.stdout.decode().split("\n")[:2] == ["append failed", "103 824 [7.0, 7.0] 0.0"]


KILLED_WITH_ROWS = """
import os, signal, sys
import numpy as np
from keras_growing_data.storage.disk_store import DiskRowStore

store = DiskRowStore(sys.argv[1])
store.append({"float32": np.ones((1000, 4), "float32")})
if sys.argv[2] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_rows_a_killed_run_left_are_reclaimed_and_a_normal_exit_leaves_nothing(tmp_path):
    parent = tmp_path / "rows"
    for _ in range(3):
        run = run_python(tmp_path, KILLED_WITH_ROWS, parent, "kill")
        assert run.returncode == -signal.SIGKILL
        # The last kill's rows are left; each new store removed those of the kill before.
        assert len(list(parent.glob("kgd-rows-*/rows-float32.bin"))) == 1
    alive = DiskRowStore(parent)
    assert [p.name for p in parent.iterdir()] == [os.path.basename(alive.folder)]
    run = run_python(tmp_path, KILLED_WITH_ROWS, parent, "exit")
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert [p.name for p in parent.iterdir()] == [os.path.basename(alive.folder)]
    other = DiskRowStore(parent)  # A live store's folder is never taken for abandoned.
    assert sorted(p.name for p in parent.iterdir()) == sorted(
        os.path.basename(s.folder) for s in (alive, other)
    )
    del alive, other
    assert list(parent.iterdir()) == []


def test_scratch_files_are_renamed_into_an_empty_store_and_copied_into_one_with_rows(tmp_path):
    store = DiskRowStore(tmp_path)
    scratch = ScratchArrays(store.folder)
    scratch.append({"float32": np.arange(6, dtype="float32").reshape(3, 2)})
    (first,) = scratch.maps().values()
    inode = os.stat(first.filename).st_ino
    store.append({"float32": first}, owned=True)
    assert os.stat(store.paths["float32"]).st_ino == inode  # Taken over, not copied.
    assert sorted(os.listdir(store.folder)) == ["lock", "rows-float32.bin"]
    scratch = ScratchArrays(store.folder)
    scratch.append({"float32": np.full((2, 2), 9, "float32")})
    (second,) = scratch.maps().values()
    store.append({"float32": second}, owned=True)
    scratch.remove()
    assert sorted(os.listdir(store.folder)) == ["lock", "rows-float32.bin"]
    assert os.stat(store.paths["float32"]).st_ino == inode
    batches = list(store.dataset(batch_size=10, shuffle=False))
    np.testing.assert_array_equal(batches[0]["float32"], [[0, 1], [2, 3], [4, 5], [9, 9], [9, 9]])


def test_a_dataset_rebuilt_200_times_leaves_tensorflow_no_more_python_functions_than_20(tmp_path):
    # Each dataset built used to trace its own `tf.numpy_function`, whose Python function
    # TensorFlow keeps for the life of the process (TF 2.21: one more in the global graph's
    # `_py_funcs_used_in_graph` and in `script_ops._py_funcs` per build and stored type).
    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops
    from tensorflow.python.ops import script_ops

    def kept():
        graph = ops.get_default_graph()
        return (
            len(getattr(graph, "_py_funcs_used_in_graph", [])),
            script_ops._py_funcs.size(),
            len(context.context().list_function_names()),
        )

    store = DiskRowStore(tmp_path, seed=1)
    counts = {}
    for build in range(1, 201):
        ids = np.arange(2 * build - 2, 2 * build, dtype="float32")
        store.append({"float32": ids[:, None], "string": ids[:, None].astype("int32")})
        seen = ids_of(store.dataset(batch_size=16))
        counts[build] = kept()
    assert sorted(seen) == list(range(400))
    assert counts[20] == counts[200], (counts[20], counts[200])
