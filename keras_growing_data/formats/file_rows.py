"""Stacks a file's parsed parts, in order, into one aligned array per type, strings dictionary-encoded."""

from collections.abc import Mapping

import numpy as np

from keras_growing_data.errors import BadFileError, NoDataRowsError
from keras_growing_data.formats.bad_row import BadRow
from keras_growing_data.formats.float32_values import loss_notes
from keras_growing_data.formats.partitions import fill_partition
from keras_growing_data.formats.schema import Schema
from keras_growing_data.utils.aligned_arrays import aligned_empty
from keras_growing_data.utils.process_memory import release_parse_memory
from keras_growing_data.utils.scratch_arrays import ScratchArrays

# Memory a file's stacking copies before it returns freed chunks to the system.
TRIM_BYTES = 64 << 20


class FileRows:
    """The rows of one file's parts (chunks, row groups...), kept in file order, and its bad rows.

    A format parses a file in parts and `keep`s each: its arrays, one per
    dtype of `schema.groups`, columns in `Schema.stored_order`; a string
    column as indices into that part's distinct strings, which are
    renumbered here into the file's, in the order first seen in the file
    (dictionary encoding); and per float32 column what float32 lost
    (`float32_losses`), summed here into the file's `notes`. A row left out
    (`skip_bad_rows`) goes to `skipped`. The columns of `partition`
    (column -> typed value, `typed_partition`) hold placeholders until the
    rows are stacked, then their values. Given `scratch`, each part goes
    to its files as it is kept, and the rows stacked are memory maps of
    them, so that a file's rows need memory for a part, not for the file.
    A file of one part kept `owned` is handed over as it is, not copied.

    Example:

    >>> rows = FileRows(schema, partition={})
    >>> rows.keep((floats,), (), ((0, 0.0, 0, 0.0),) * floats.shape[1])
    >>> arrays, strings = rows.stacked()
    """

    def __init__(self, schema: Schema, partition: Mapping[str, object], scratch: ScratchArrays | None = None):
        self.schema = schema
        self.partition = partition
        self.scratch = scratch
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.skipped: list[BadRow] = []
        self.distinct: list[dict[str, int]] = []
        self.losses: list[tuple[int, float, int, float]] = []
        self._owned = False  # Whether every part kept is the caller's, as `keep` says.

    def keep(
        self,
        arrays: tuple[np.ndarray, ...],
        strings: tuple[tuple[str, ...], ...],
        losses: tuple,
        owned: bool = False,
    ) -> None:
        """Keeps one part, after the parts kept before it: its arrays, its distinct strings, its losses.

        `owned`: the arrays are handed over (64-byte aligned, from
        `aligned_empty`, and never used by the caller again): their strings
        are renumbered in place, and the rows of a file of this one part
        are these arrays, not a copy.
        """
        self._add_losses(losses)
        self._owned = owned and (not self.parts or self._owned)
        if strings:
            at = self.schema.groups.index("string")
            codes = arrays[at] if owned else np.empty_like(arrays[at])
            for j, chunk_strings in enumerate(strings):
                if j == len(self.distinct):
                    self.distinct.append({})
                known = self.distinct[j]
                renumber = np.fromiter(
                    (known.setdefault(s, len(known)) for s in chunk_strings), np.int32, len(chunk_strings)
                )
                if np.array_equal(renumber, np.arange(len(renumber))):  # Numbered as the file numbers them.
                    if not owned:
                        codes[:, j] = arrays[at][:, j]
                else:
                    codes[:, j] = renumber[arrays[at][:, j]]
            arrays = arrays[:at] + (codes,) + arrays[at + 1 :]
        if self.scratch is None:
            self.parts.append(arrays)
        else:
            self.scratch.append(dict(zip(self.schema.groups, arrays, strict=True)))

    @property
    def has_rows(self) -> bool:
        """Whether a part with rows was kept."""
        return bool(self.parts) or (self.scratch is not None and self.scratch.rows > 0)

    def _add_losses(self, losses: tuple) -> None:
        """Adds a part's float32 losses to the file's: counts summed, the first example kept."""
        if not self.losses:
            self.losses = list(losses)
            return
        for j, (integers, integer, zeros, zero) in enumerate(losses):
            total = self.losses[j]
            self.losses[j] = (
                total[0] + integers,
                total[1] if total[0] else integer,
                total[2] + zeros,
                total[3] if total[2] else zero,
            )

    def notes(self) -> tuple[str, ...]:
        """What float32 changed in the file's values, in words."""
        return loss_notes(self.schema.stored_order("float32"), self.losses) if self.losses else ()

    def stacked(self) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
        """All rows kept, one array per stored dtype, and each string column's distinct strings.

        Given `scratch`, the arrays are writable memory maps of its files.
        The partition columns get their values here, once per file, and what
        float32 loses of them joins the file's losses.

        Raises:
            BadFileError: every row was bad (and skipped).
            NoDataRowsError: the file has no rows.
        """
        if not self.has_rows:
            if self.skipped:
                first = self.skipped[0]
                raise BadFileError(f"every data row is bad; the first: line {first.line}: {first.reason}")
            raise NoDataRowsError("the file has a header but no data rows")
        if self.scratch is None:
            arrays = {dtype: self._stack(i) for i, dtype in enumerate(self.schema.groups)}
            self.parts = []
        else:
            arrays = self.scratch.maps()
        names = self.schema.stored_order("string")
        strings = {name: tuple(self.distinct[j]) for j, name in enumerate(names)}
        for j, losses in fill_partition(self.partition, self.schema, arrays, strings).items():
            self.losses[j] = losses
        return arrays, strings

    def _stack(self, i: int) -> np.ndarray:
        """The parts' arrays at `i` as one 64-byte aligned array (which a store shares, not copies).

        Each part's array is let go once copied, and the new array's pages
        become resident only as written, so stacking needs about one part
        more than the rows, not twice the rows. A file of one part kept
        `owned` is that part's array.
        """
        first = self.parts[0][i]
        if self._owned and len(self.parts) == 1:
            return first
        rows = sum(len(part[i]) for part in self.parts)
        stacked = aligned_empty((rows, first.shape[1]), first.dtype)
        start = copied = 0
        for k, part in enumerate(self.parts):
            stacked[start : start + len(part[i])] = part[i]
            start += len(part[i])
            copied += part[i].nbytes
            self.parts[k] = part[:i] + (None,) + part[i + 1 :]
            if copied >= TRIM_BYTES:
                # Freed parts stay in glibc's arenas, resident, until trimmed.
                release_parse_memory()
                copied = 0
        return stacked
