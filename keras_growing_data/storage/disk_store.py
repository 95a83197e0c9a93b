"""Keeps the accepted rows in a file on disk, for data larger than memory."""

import contextlib
import functools
import itertools
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable

import numpy as np
import tensorflow as tf

from keras_growing_data.storage.row_store import RowStore
from keras_growing_data.utils.file_lock import FileLock, held_by_nobody
from keras_growing_data.utils.scratch_arrays import is_scratch_file, row_blocks

logger = logging.getLogger("keras_growing_data")

ROWS_FOLDER_PREFIX = "kgd-rows-"
# The rows folders this process made: never taken for abandoned, even where `flock` is emulated
# per process (NFS), so that a lock this process holds would look free to it.
_OWN_FOLDERS = set()


class DiskRowStore(RowStore):
    """Accepted rows appended to files, one per stored type, read back memory-mapped.

    The epochs of every `RowStore` (every row once per pass, a new global
    permutation per pass, known cardinality), with the rows in files:
    the process keeps only the pages the kernel caches, which it can drop
    under memory pressure. Each batch is one fancy-indexed read of each
    memory map (`tf.numpy_function`), so an epoch costs one read per batch
    and type whatever the number of files, and pays the disk's random-read
    speed when the data does not fit in the page cache.

    A file's rows handed over as the memory maps of scratch files in the
    store's folder (`ScratchArrays`, which the ingest writes as it parses)
    are taken over by a rename into an empty store, else copied in blocks,
    so that no step holds a file's rows in memory.

    Dropped rows are freed once they are more than the live ones: the live
    rows are then copied into new files, which replace the old ones (an
    epoch still reading the old files keeps them until it ends).

    The files live in a folder `kgd-rows-*` of their own, deleted with the
    store or at the process's exit. The store holds a lock on it while it
    lives, so a run killed before it could clean up is found out: the
    next store made in the same parent folder removes such folders.

    Example:

    >>> store = DiskRowStore("/mnt/scratch")
    >>> store.append({"float32": np.random.rand(100, 4).astype("float32")})
    >>> for batch in store.dataset(batch_size=32):
    ...     print(batch["float32"].shape)

    Args:
        folder: the local folder in which the rows' folder is made; `None`
            for the system's temporary folder. `GrowingDataCallback` makes
            this store for `storage="disk"` (rows in memory-mapped files,
            for data larger than memory, with the same epochs as
            `MemoryRowStore`, the default `storage="memory"`), in its
            `storage_dir`.
        seed: seed of the permutations, or `None` for a random one.
    """

    def __init__(self, folder: str | None = None, seed: int | None = None):
        super().__init__(seed)
        parent = tempfile.gettempdir() if folder is None else str(folder)
        os.makedirs(parent, exist_ok=True)
        remove_abandoned(parent)
        # Locked under a name the clean-up does not look at, then renamed:
        # another process can never find it unlocked.
        making = tempfile.mkdtemp(prefix="kgd-making-", dir=parent)
        lock = FileLock(os.path.join(making, "lock"))
        lock.acquire()
        self.folder = os.path.join(
            parent, os.path.basename(making).replace("kgd-making-", ROWS_FOLDER_PREFIX, 1)
        )
        os.rename(making, self.folder)
        _OWN_FOLDERS.add(self.folder)
        weakref.finalize(self, _remove_folder, self.folder, lock)
        self._stem = os.path.join(self.folder, "rows")
        self.paths = {}
        self._layout = None

    @property
    def layout(self) -> dict[str, tuple[np.dtype, int]] | None:
        return self._layout

    @property
    def num_blocks(self) -> int:
        return 1 if self._stored_rows else 0

    def _append(self, arrays: dict[str, np.ndarray], owned: bool) -> None:
        """Appends rows to the files; takes over a scratch file handed over by a rename, into no rows."""
        if self._layout is None:
            for key in arrays:
                self.paths[key] = f"{self._stem}-{key}.bin"
                open(self.paths[key], "wb").close()
        ends = {key: os.path.getsize(path) for key, path in self.paths.items()}
        renamed = {}
        try:
            for key, array in arrays.items():
                if owned and self._stored_rows == 0 and is_scratch_file(array, self.folder):
                    os.replace(array.filename, self.paths[key])
                    renamed[key] = array.filename
                else:
                    _write(self.paths[key], row_blocks(array))
        except BaseException:
            for key, end in ends.items():  # A partial write would shift every later row.
                if key in renamed:  # Its file is the scratch file, which its maps map: given back.
                    os.replace(self.paths[key], renamed[key])
                    open(self.paths[key], "wb").close()
                else:
                    os.truncate(self.paths[key], end)
            raise
        self._layout = {key: (array.dtype, array.shape[1]) for key, array in arrays.items()}

    def _release(self) -> None:
        """Copies the live rows into new files once the dropped ones outnumber them.

        Every new file is written before any replaces its old one, so that a
        failed write (a full disk) leaves the old files, dropped rows and all.
        """
        if self._stored_rows - self.num_rows <= self.num_rows:
            return
        runs = self._live_runs()
        new = {key: path + ".new" for key, path in self.paths.items()}
        try:
            for key, rows_map in self._maps().items():
                open(new[key], "wb").close()
                _write(new[key], (rows_map[start : start + rows] for start, rows in runs))
        except OSError as e:
            for path in new.values():
                with contextlib.suppress(OSError):
                    os.remove(path)
            logger.warning(
                "Could not free the dropped rows in %s (%s); they stay until a later try", self.folder, e
            )
            return
        for key, path in self.paths.items():
            os.replace(new[key], path)
        starts, at = {}, 0
        for piece, (_, rows) in self._pieces.items():
            starts[piece], at = at, at + rows
        self._moved(starts, at)

    def _maps(self) -> "_Maps":
        """The files as memory maps of their stored rows."""
        return _Maps(
            (key, np.memmap(self.paths[key], dtype, "r", shape=(self._stored_rows, width)))
            for key, (dtype, width) in self._layout.items()
        )

    def _take_fn(self):
        maps = self._maps()
        token = next(_TOKENS)
        _OPEN_MAPS[token] = maps

        def take(index):
            index = tf.cast(index, tf.int64)
            batch = {}
            for key, rows_map in maps.items():
                values = _row_reader(rows_map.dtype)(index, token, key)
                values.set_shape([None, rows_map.shape[1]])
                batch[key] = values
            return batch

        return take


class _Maps(dict):
    """The memory maps of a store's files by stored type, as a dict that can be weakly referenced."""


# The maps of every dataset alive, by a token its map function holds as a constant. A dataset's
# `take` holds its maps; they close (and free their file descriptor, and the disk of files
# `_release` replaced) once the last dataset and iterator using them go.
_OPEN_MAPS = weakref.WeakValueDictionary()
_TOKENS = itertools.count()


@functools.cache
def _row_reader(dtype: np.dtype) -> Callable:
    """The function `(row indices, token, stored type) -> rows` of the open maps, traced once per dtype.

    TensorFlow keeps the Python function of every `tf.numpy_function` traced for the life of the
    process (TF 2.21, `script_ops._internal_py_func` appends it to the global graph's
    `_py_funcs_used_in_graph`, and registers it under a new token in `script_ops._py_funcs`), and
    a dataset is built at every change of the rows. A concrete function is never traced again, so
    every dataset's map function calls this one, and TensorFlow keeps one function per dtype.
    """

    def read(index, token, key):
        maps = _OPEN_MAPS.get(int(token))
        if maps is None:
            raise RuntimeError("The rows of this dataset were freed: its store or dataset is gone.")
        return maps[key.decode()][index]

    def read_rows(index, token, key):
        return tf.numpy_function(read, [index, token, key], tf.as_dtype(dtype), stateful=False)

    signature = [
        tf.TensorSpec([None], tf.int64),
        tf.TensorSpec([], tf.int64),
        tf.TensorSpec([], tf.string),
    ]
    return tf.function(read_rows, input_signature=signature, autograph=False).get_concrete_function()


def _write(path: str, blocks: Iterable[np.ndarray]) -> None:
    """Appends the rows of `blocks` to the file at `path`, one write after another."""
    with open(path, "ab", buffering=0) as f:
        for block in blocks:
            unwritten = memoryview(np.ascontiguousarray(block)).cast("B")
            while unwritten:
                unwritten = unwritten[f.write(unwritten) :]


def remove_abandoned(parent: str) -> None:
    """Removes the rows folders in `parent` whose store is gone (its process killed) without cleaning up."""
    with contextlib.suppress(OSError), os.scandir(parent) as entries:
        for entry in list(entries):
            lock = os.path.join(entry.path, "lock")
            mine = entry.path in _OWN_FOLDERS
            if (
                entry.name.startswith(ROWS_FOLDER_PREFIX)
                and entry.is_dir()
                and not mine
                and held_by_nobody(lock)
            ):
                shutil.rmtree(entry.path, ignore_errors=True)


def _remove_folder(folder: str, lock: FileLock) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    lock.release()
