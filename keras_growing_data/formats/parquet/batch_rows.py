"""Takes a Parquet file's rows, a batch at a time as Arrow reads them, into the schema's arrays."""

import dataclasses
from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.bad_row import BadRow
from keras_growing_data.formats.file_rows import FileRows
from keras_growing_data.formats.float32_values import float32_losses
from keras_growing_data.formats.parquet.arrow_values import (
    Values,
    float32_values,
    int64_values,
    string_values,
)
from keras_growing_data.formats.schema import STORED_AS, Schema
from keras_growing_data.utils.aligned_arrays import aligned_empty
from keras_growing_data.utils.printable import excerpt
from keras_growing_data.utils.scratch_arrays import ScratchArrays

# No default: a missing value in that column makes the row bad.
NO_DEFAULT = None
# Each schema type's values, from an Arrow column.
VALUES = {"float32": float32_values, "int64": int64_values, "string": string_values}
NO_LOSS = (0, 0.0, 0, 0.0)


@dataclasses.dataclass(frozen=True)
class BatchPlan:
    """How the columns read of a Parquet file fill the schema's arrays.

    Args:
        read: the file's columns to read, in the order the batches hold them.
        groups: per stored dtype, its columns in stored order, each as
            `(name, position in `read` or None if the file lacks it,
            default or NO_DEFAULT)`.
    """

    read: tuple[str, ...]
    groups: tuple[tuple[str, tuple[tuple[str, int | None, object], ...]], ...]


class BatchRows(FileRows):
    """The rows of one Parquet file's batches, taken in file order, and its bad rows.

    `group_starts` are the file's first row of each row group (from 0), by
    which a reason names a row's group.
    """

    def __init__(
        self,
        schema: Schema,
        plan: BatchPlan,
        skip_bad_rows: bool,
        partition: Mapping[str, object],
        group_starts: np.ndarray,
        scratch: ScratchArrays | None = None,
    ):
        super().__init__(schema, partition, scratch)
        self.plan = plan
        self.skip_bad_rows = skip_bad_rows
        self.group_starts = group_starts
        self.rows_read = 0

    def take(self, batch: pa.RecordBatch) -> None:
        """Takes the file's next rows; a row without a usable value rejects the file, or is left out.

        Raises:
            BadFileError: a row is bad and bad rows are not skipped.
        """
        first, rows = self.rows_read, batch.num_rows
        self.rows_read += rows
        arrays, strings, losses, unusable = [], [], [], []
        for dtype, columns in self.plan.groups:
            array = aligned_empty((rows, len(columns)), STORED_AS[dtype])
            for j, (name, position, default) in enumerate(columns):
                if position is None:
                    self._fill(array, j, dtype, default, strings, losses)
                    continue
                values = VALUES[dtype](batch.column(position))
                loss, rows_unusable = self._put(array, j, dtype, values, default, strings)
                losses += [loss] if dtype == "float32" else []
                if rows_unusable is not None:
                    unusable.append((name, values, rows_unusable))
            arrays.append(array)
        if unusable:
            arrays, strings = self._without_bad_rows(first, arrays, strings, unusable)
        if len(arrays[0]):
            self.keep(tuple(arrays), tuple(strings), tuple(losses), owned=not unusable)

    def _fill(self, array: np.ndarray, j: int, dtype: str, default, strings: list, losses: list) -> None:
        """Fills column `j` of `array` with `default`, for a column the file lacks (or a partition's)."""
        if dtype == "string":
            array[:, j] = 0
            strings.append((default,))
            return
        array[:, j] = default
        if dtype == "float32":
            exact = np.array([[default]], np.float64)
            ((integers, integer, zeros, zero),) = float32_losses(exact, exact.astype(np.float32))
            losses.append((integers * len(array), integer, zeros * len(array), zero))

    @staticmethod
    def _put(
        array: np.ndarray, j: int, dtype: str, values: Values, default, strings: list
    ) -> tuple[tuple, np.ndarray | None]:
        """Puts a column's values in column `j` of `array`, missing ones as `default`.

        Returns what float32 lost of them (`float32_losses`; for a float32
        column), and the rows without a usable value (`None`: none).
        """
        data, missing, column_strings = values.values, values.missing, values.strings
        if missing is not None and default is not NO_DEFAULT:
            if dtype == "string":
                # The default takes its place among the strings in the order first seen, as in CSV.
                if default not in column_strings:
                    column_strings += (default,)
                filled = np.where(missing, column_strings.index(default), data)
                data, column_strings = _first_seen(filled, column_strings)
            else:
                data = np.where(missing, default, data)
            missing = None
        unusable = missing if values.bad is None else values.bad if missing is None else missing | values.bad
        if dtype == "string":
            strings.append(column_strings)
        loss = NO_LOSS
        if data.dtype == np.float64:
            with np.errstate(over="ignore"):  # Past float32's range: a bad row, left out.
                narrowed = data.astype(np.float32)
            (loss,) = float32_losses(data[:, None], narrowed[:, None])
            data = narrowed
        array[:, j] = data
        return loss, unusable

    def _without_bad_rows(self, first: int, arrays: list, strings: list, unusable: list) -> tuple[list, list]:
        """The batch's arrays and strings without its bad rows, each listed in `skipped`.

        Raises:
            BadFileError: for the first bad row, unless bad rows are skipped.
        """
        bad = np.logical_or.reduce([rows for _, _, rows in unusable])
        at = np.flatnonzero(bad)
        if not self.skip_bad_rows:
            at = at[:1]
        for row in at:
            name, values, _ = next(column for column in unusable if column[2][row])
            group = int(np.searchsorted(self.group_starts, first + row, side="right")) - 1
            column = f"column {excerpt(name)}: {values.problem(int(row))}"
            if not self.skip_bad_rows:
                raise BadFileError(f"row {first + row + 1} (row group {group}), {column}")
            self.skipped.append(BadRow(first + int(row) + 1, f"row group {group}, {column}"))
        good = ~bad
        arrays = [array[good] for array in arrays]
        if strings:
            at = self.schema.groups.index("string")
            for j, column_strings in enumerate(strings):
                arrays[at][:, j], strings[j] = _first_seen(arrays[at][:, j], column_strings)
        return arrays, strings


def _first_seen(codes: np.ndarray, strings: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Indices into `strings` renumbered to the strings they use, in the order first seen."""
    used, first = np.unique(codes, return_index=True)
    order = used[np.argsort(first)]
    renumber = np.zeros(len(strings), np.int32)
    renumber[order] = np.arange(len(order), dtype=np.int32)
    return renumber[codes], tuple(strings[i] for i in order)
