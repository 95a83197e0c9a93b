"""Turns the folder, file and storage arguments of `GrowingDataCallback` into the parts of its ingest.

One owner per argument: each argument of `GrowingDataCallback` is checked,
kept and documented by one part, in the module named below; the
callback's docstring sums it up in a line and names the owner. `build_ingest` is the one
place that turns the arguments into parts and hands them to the
coordinator, `FolderIngest`, which keeps only the rules of its verdicts.

- `FolderWatcher` (`sources/watcher.py`), which finds the complete files:
  `directory`, `pattern`, `settle_seconds`, `follow_symlinks`, `recursive`,
  `commit_marker`.
- `FileFormat` (`formats/file_format.py`), what every format takes:
  `label`, `columns`, `defaults`, `na_values`, `max_file_bytes`.
- The formats of `formats.FORMATS`, each reading the files its suffixes
  name (`formats/by_suffix.py`), each given the arguments it takes:
  `max_line_bytes` (CSV and JSON Lines), `parser` (CSV).
- `FolderIngest` (`sources/ingest.py`), the verdict on each file version:
  `on_bad_file`, `on_bad_row`, `partition_columns`, `appends`.
- `Manifest` (`sources/manifest.py`), the state across restarts: `state_dir`.
- The row store (`storage/memory_store.py`, `storage/disk_store.py`):
  `storage`, `storage_dir`.
- The training-set policy (`sources/training_set.py`; `Window` in
  `sources/window.py`): `window`.
- `GrowingDataCallback` (`training/callback.py`), the epochs it serves:
  `batch_size`, `shuffle`, `seed` (the store shuffles with it),
  `poll_interval`, `pad_last_batch`.
- `KerasBatches` (`training/keras_batches.py`), what `x` and `y` look
  like: `features`, `strings_as`.
"""

import dataclasses
from collections.abc import Mapping, Sequence

from keras_growing_data.formats import every_format
from keras_growing_data.formats.file_format import DEFAULT_MAX_FILE_BYTES, FileFormat
from keras_growing_data.sources.ingest import FolderIngest
from keras_growing_data.sources.keep_everything import KeepEverything
from keras_growing_data.sources.manifest import Manifest
from keras_growing_data.sources.training_set import TrainingSetPolicy
from keras_growing_data.sources.watcher import DEFAULT_PATTERNS, FolderWatcher
from keras_growing_data.storage.disk_store import DiskRowStore
from keras_growing_data.storage.memory_store import MemoryRowStore
from keras_growing_data.storage.row_store import RowStore
from keras_growing_data.utils.arguments import check_choice, check_path


@dataclasses.dataclass(frozen=True)
class IngestParts:
    """The parts a `FolderIngest` coordinates, each owning its arguments and its state.

    Example:

    >>> parts = ingest_parts("incoming/", label="price", settle_seconds=0)
    >>> ingest = FolderIngest(parts, on_bad_row="skip")

    Args:
        watcher: finds the folder's complete files.
        file_format: turns a file into typed columns, or says why it cannot (`BySuffix`: each
            file by the format its name says).
        store: keeps the accepted rows and serves them.
        policy: decides which accepted files train.
        manifest: keeps the state across restarts, or `None`.
    """

    watcher: FolderWatcher
    file_format: FileFormat
    store: RowStore
    policy: TrainingSetPolicy
    manifest: Manifest | None = None


def ingest_parts(
    directory: str,
    label: str | Sequence[str] | Mapping[str, str | Sequence[str]] | None,
    pattern: str | Sequence[str] = DEFAULT_PATTERNS,
    settle_seconds: float = 1.0,
    max_line_bytes: int = 1 << 20,
    follow_symlinks: bool = False,
    state_dir: str | None = None,
    seed: int | None = None,
    storage: str = "memory",
    storage_dir: str | None = None,
    parser: str = "auto",
    columns: Mapping[str, str] | None = None,
    defaults: Mapping[str, object] | None = None,
    na_values: Sequence[str] | None = None,
    recursive: bool = False,
    window: TrainingSetPolicy | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    commit_marker: str | None = None,
) -> IngestParts:
    """The parts for these arguments of `GrowingDataCallback`, each checked by its owner (see above)."""
    check_choice("storage", storage, ("memory", "disk"))
    state_dir = check_path("state_dir", state_dir, optional=True)
    storage_dir = check_path("storage_dir", storage_dir, optional=True)
    exclude = [folder for folder in (state_dir, storage_dir) if folder is not None]
    watcher = FolderWatcher(
        directory, pattern, settle_seconds, follow_symlinks, recursive, exclude, commit_marker
    )
    if window is not None and not isinstance(window, TrainingSetPolicy):
        raise TypeError(f"window must be a keras_growing_data.Window or None, got {window!r}.")
    policy = KeepEverything() if window is None else window
    file_format = every_format(
        label=label,
        max_line_bytes=max_line_bytes,
        parser=parser,
        columns=columns,
        defaults=defaults,
        na_values=na_values,
        max_file_bytes=max_file_bytes,
    )
    store = MemoryRowStore(seed=seed) if storage == "memory" else DiskRowStore(storage_dir, seed)
    manifest = None if state_dir is None else Manifest(state_dir, rolling=not policy.keeps_every_file)
    return IngestParts(watcher, file_format, store, policy, manifest)


def build_ingest(
    directory: str,
    label: str | Sequence[str] | Mapping[str, str | Sequence[str]] | None,
    on_bad_file: str = "reject",
    on_bad_row: str = "reject",
    partition_columns: bool = False,
    appends: str = "warn",
    **arguments,
) -> FolderIngest:
    """A `FolderIngest` of the parts for these arguments of `GrowingDataCallback` (see `ingest_parts`).

    Example:

    >>> ingest = build_ingest("incoming/", label="price", settle_seconds=0, window=Window(files=10))
    >>> ingest.poll()
    """
    check_choice("on_bad_file", on_bad_file, ("reject", "quarantine"))
    check_choice("on_bad_row", on_bad_row, ("reject", "skip"))
    parts = ingest_parts(directory, label, **arguments)
    return FolderIngest(
        parts,
        on_bad_file=on_bad_file,
        on_bad_row=on_bad_row,
        partition_columns=partition_columns,
        appends=appends,
    )
