"""Which files and rows each epoch trained on, in memory that does not grow with the files."""

from collections.abc import Iterator, Mapping, Sequence

from keras_growing_data.sources.records import EpochLineage


class Lineage(Mapping):
    """A mapping epoch -> `EpochLineage`, kept as counts over the accepted files' order.

    Epoch e trained on the accepted files from the `first` to the `files`-th
    (files are only ever added, and leave a window mostly oldest first), and
    on the few `kept` before the `first` (a log written to recently, which
    stayed while files accepted after it left), so an epoch costs four
    numbers, not a list of paths; the `EpochLineage` with its paths is
    built when asked for.

    A policy that trains only some rows of those files (a sample of the old
    ones beside the new) records how it drew them in `drawn`: JSON of its
    own, enough to say again which rows of each file trained (its seed and
    counts, say, not the rows), saved with the epoch as it is. `None` means
    every row of the files trained.

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
        self._epochs = {}

    def record(
        self,
        epoch: int,
        files: int,
        rows: int,
        rows_skipped: int,
        first: int = 0,
        drawn: dict | None = None,
        kept: Sequence[int] = (),
    ) -> None:
        self._epochs[epoch] = (files, rows, rows_skipped, first, drawn, tuple(kept))

    def snapshot(self) -> "Lineage":
        """The epochs recorded so far, which later ones do not change (a copy of the epochs' counts).

        The accepted paths are shared: they are only ever appended to.
        """
        copy = Lineage(self._accepted, self._folder)
        copy._epochs = dict(self._epochs)
        return copy

    def counts(self, epoch: int) -> tuple[int, int, int, int]:
        """`(files, rows, rows_skipped, first)` of an epoch: `first` files had left before it."""
        return self._epochs[epoch][:4]

    def sizes(self, epoch: int) -> tuple[int, int, int] | None:
        """`(rows, files, files_left)` of an epoch, without building its paths; `None` if not recorded."""
        entry = self._epochs.get(epoch)
        if entry is None:
            return None
        files, rows, _, first, _, kept = entry
        return rows, len(kept) + files - first, first - len(kept)

    def get_state(self) -> dict[str, list]:
        """Each epoch as saved: `[files, rows, rows_skipped]`, then `first`, `drawn` and `kept` where set."""
        return {str(epoch): _saved(entry) for epoch, entry in self._epochs.items()}

    def set_state(self, state: Mapping[str, list]) -> None:
        for epoch, saved in state.items():
            self.record(int(epoch), *saved)

    def saved(self, epoch: int) -> list:
        """One epoch as `get_state` saves it."""
        return _saved(self._epochs[epoch])

    def __getitem__(self, epoch: int) -> EpochLineage:
        files, rows, rows_skipped, first, drawn, kept = self._epochs[epoch]
        paths = tuple(self._accepted[i] for i in kept) + tuple(self._accepted[first:files])
        return EpochLineage(paths, rows, rows_skipped, self._folder, first - len(kept), drawn=drawn)

    def __iter__(self) -> Iterator[int]:
        return iter(self._epochs)

    def __len__(self) -> int:
        return len(self._epochs)


def _saved(entry: tuple) -> list:
    """Without trailing defaults: a state saved before `first`, `drawn` or `kept` existed reads the same."""
    saved = [*entry[:5], list(entry[5])]
    while len(saved) > 3 and (saved[-1] in (0, None) or saved[-1] == []):
        saved.pop()
    return saved
