"""Keeps a watched folder's ingest state on disk, so a restart loses nothing."""

import hashlib
import io
import json
import posixpath

import numpy as np
import tensorflow as tf

from keras_growing_data.utils.atomic_write import write_atomically

FORMAT_VERSION = 2


class Manifest:
    """A state folder: what was accepted and rejected, parsed rows, epochs.

    Layout of `state_dir`:

    - `manifest.json`: the accepted files (in order) with their fingerprints
      and row counts, the rejected files with their reasons, the schema and
      the rules it was read with, and which files each epoch trained on.
    - `rows/<key>.npz`: the parsed rows of one accepted file (one array per
      stored type, its strings as indices into its own distinct strings,
      which it keeps too), so a restart re-parses nothing, keeps training on
      rows whose source file was deleted or changed since, and rebuilds
      each column's vocabulary, ids unchanged, by taking the files' strings
      again in the order the files were accepted.

    Every file is written under a temporary name, then renamed over the old
    one, so a crash at any point leaves the previous complete version. The
    rows of a file are written before the manifest that names them; rows
    that a crash left unnamed are found again by their key and reused.
    Everything goes through `tf.io.gfile`, so `state_dir` may be remote.

    Example:

    >>> manifest = Manifest("state/")
    >>> manifest.save_rows("abc", {"float32": np.zeros((2, 3), "float32")}, {})
    >>> manifest.save({"accepted": [], "rejected": []})
    >>> manifest.load()["accepted"]
    []

    Args:
        state_dir: the folder that keeps the state; created at the first
            save, so that loading alone writes nothing.
    """

    def __init__(self, state_dir: str):
        self.state_dir = str(state_dir)
        self._created = False

    @property
    def path(self) -> str:
        return posixpath.join(self.state_dir, "manifest.json")

    def load(self) -> dict | None:
        """The saved state, or None if there is none yet."""
        if not tf.io.gfile.exists(self.path):
            return None
        with tf.io.gfile.GFile(self.path, "r") as f:
            state = json.load(f)
        if state.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{self.path} has format {state.get('format')}, this version of keras_growing_data reads "
                f"format {FORMAT_VERSION} (format 2 added typed columns); use a new state_dir."
            )
        return state

    def save(self, state: dict) -> None:
        """Replaces the saved state, atomically."""
        self._create()
        write_atomically(self.path, json.dumps({**state, "format": FORMAT_VERSION}).encode())

    def _rows_path(self, key: str) -> str:
        return posixpath.join(self.state_dir, "rows", f"{key}.npz")

    def has_rows(self, key: str) -> bool:
        return tf.io.gfile.exists(self._rows_path(key))

    def save_rows(self, key: str, arrays: dict[str, np.ndarray], strings: dict[str, tuple[str, ...]]) -> None:
        """Keeps one file's arrays and its string columns' distinct strings."""
        self._create()
        buffer = io.BytesIO()
        # The strings go as JSON bytes: numpy's str arrays drop trailing NULs.
        encoded = np.frombuffer(json.dumps(strings).encode(), np.uint8)
        np.savez(buffer, **{f"array-{dtype}": array for dtype, array in arrays.items()}, strings=encoded)
        write_atomically(self._rows_path(key), buffer.getvalue())

    def _create(self) -> None:
        if not self._created:
            tf.io.gfile.makedirs(posixpath.join(self.state_dir, "rows"))
            self._created = True

    def load_rows(self, key: str) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
        """One file's arrays and distinct strings, as `save_rows` kept them."""
        with tf.io.gfile.GFile(self._rows_path(key), "rb") as f:
            saved = np.load(io.BytesIO(f.read()), allow_pickle=False)
        arrays = {
            name.removeprefix("array-"): saved[name] for name in saved.files if name.startswith("array-")
        }
        strings = json.loads(saved["strings"].tobytes())
        return arrays, {name: tuple(values) for name, values in strings.items()}


def rows_key(path: str, size: int, mtime_ns: int) -> str:
    """The name of a file version's rows: its path and fingerprint, hashed."""
    return hashlib.sha1(f"{path}\0{size}\0{mtime_ns}".encode()).hexdigest()[:24]
