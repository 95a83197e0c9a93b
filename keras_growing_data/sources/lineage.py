"""Which files and rows each epoch trained on, in memory that does not grow with the files."""

from collections.abc import Iterator, Mapping, Sequence

from keras_growing_data.sources.records import EpochLineage


class Lineage(Mapping):
    """A mapping epoch -> `EpochLineage`, kept as counts over the accepted files' order.

    Epoch e trained on the accepted files from the `first` to the `files`-th
    (files are only ever added, and leave a window oldest first), so an
    epoch costs four numbers, not a list of paths; the `EpochLineage` with
    its paths is built when asked for.

    Example:

    >>> lineage = Lineage(["/data/a.csv", "/data/b.csv"], folder="/data")
    >>> lineage.record(0, files=1, rows=10, rows_skipped=0)
    >>> lineage[0].names
    ('a.csv',)

    Args:
        accepted: the accepted paths in acceptance order, a list the owner appends to.
        folder: the watched folder, which `EpochLineage.names` are relative to.
    """

    def __init__(self, accepted: Sequence[str], folder: str = ""):
        self._accepted = accepted
        self._folder = folder
        self._counts = {}

    def record(self, epoch: int, files: int, rows: int, rows_skipped: int, first: int = 0) -> None:
        self._counts[epoch] = (files, rows, rows_skipped, first)

    def counts(self, epoch: int) -> tuple[int, int, int, int]:
        """`(files, rows, rows_skipped, first)` of an epoch: `first` files had left before it."""
        return self._counts[epoch]

    def __getitem__(self, epoch: int) -> EpochLineage:
        files, rows, rows_skipped, first = self._counts[epoch]
        return EpochLineage(tuple(self._accepted[first:files]), rows, rows_skipped, self._folder, first)

    def __iter__(self) -> Iterator[int]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)
