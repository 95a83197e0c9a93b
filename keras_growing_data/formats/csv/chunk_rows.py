"""Parses chunks of CSV lines into a file's rows: pandas where it reads them as TensorFlow does, else TF."""

import concurrent.futures
import functools
from collections.abc import Callable, Mapping

import numpy as np

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.bad_row import BadRow
from keras_growing_data.formats.csv.line_checks import diagnose, line_problems
from keras_growing_data.formats.csv.line_widths import fields_fit
from keras_growing_data.formats.csv.pandas_parser import parse_chunk_with_pandas
from keras_growing_data.formats.csv.tf_parser import (
    TYPED_FIELDS,
    ChunkPlan,
    chunk_parser,
    decodes_typed,
    lines_of,
)
from keras_growing_data.formats.file_rows import FileRows
from keras_growing_data.formats.float32_values import float32_losses, needs_direct_parse
from keras_growing_data.formats.schema import Schema
from keras_growing_data.utils.scratch_arrays import ScratchArrays


class ChunkRows(FileRows):
    """The rows of one CSV file's chunks, taken in file order, and its bad lines.

    `parse` parses a chunk (`parse_chunk` with the file's plan); `line` is
    the number of the next chunk's first line; `scratch`, where the rows
    go as they are taken (`FileRows`).
    """

    def __init__(
        self,
        schema: Schema,
        plan: ChunkPlan,
        parse: Callable[[bytes], tuple[tuple | str | None, int]],
        skip_bad_rows: bool,
        partition: Mapping[str, object],
        line: int = 2,
        scratch: ScratchArrays | None = None,
    ):
        super().__init__(schema, partition, scratch)
        self.plan = plan
        self.parse = parse
        self.skip_bad_rows = skip_bad_rows
        self.line = line

    def take(self, data: bytes, future: concurrent.futures.Future) -> None:
        """Takes one parsed chunk; handles its bad lines.

        A chunk that fails is looked at again line by line in Python, only
        then: to name the first bad line, or, with `skip_bad_rows`, to
        parse its good lines alone and list the bad ones in `skipped`.
        """
        result, newlines = future.result()
        line, self.line = self.line, self.line + newlines
        if result is None:
            return  # Blank lines only.
        if not isinstance(result, str):
            self.keep(*result)
            return
        if not self.skip_bad_rows:
            diagnose(line, data, self.plan)
            raise BadFileError(f"does not parse: {result}")
        good = []
        for number, raw, reason in line_problems(line, data, self.plan):
            if reason is None:
                good.append(raw)
            else:
                self.skipped.append(BadRow(number, reason))
        if good:
            rows, _ = self.parse(b"\n".join(good))
            if isinstance(rows, str):
                raise BadFileError(f"does not parse: {rows}")
            self.keep(*rows)


@functools.cache
def parse_pool(workers: int) -> concurrent.futures.ThreadPoolExecutor:
    """The threads that parse chunks, shared by every CSV format (one pool each would leak threads)."""
    return concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="csv-parse")


def parse_chunk(plan: ChunkPlan, pandas, data: bytes) -> tuple[tuple | str | None, int]:
    """A chunk's `(arrays, strings, losses)` (why it failed, or None: blank lines only), and its newlines.

    `losses` says, per float32 column, what float32 changed (`float32_losses`).
    Counting the newlines (to number the lines of later chunks) costs as much
    as a tenth of pandas' parse; where pandas parsed the chunk, every line was
    a row, so its rows count them.
    """
    if pandas is not None:
        parsed = parse_chunk_with_pandas(pandas, data, plan)
        if parsed is not None and not _needs_direct_parse(plan, parsed[0]):
            return _narrowed(plan, *parsed), len(parsed[0][0]) - (not data.endswith(b"\n"))
    newlines = data.count(b"\n")
    lines = lines_of(data)
    if not lines:
        return None, newlines
    typed = decodes_typed(plan, lines)
    # A chunk that decodes typed had its width checked with its fields, up to TYPED_FIELDS of them.
    if not (typed and plan.num_fields <= TYPED_FIELDS) and not fields_fit(lines, plan.num_fields):
        return "a line has another number of fields than the header, or a quote out of place", newlines
    quoted = b'"' in lines
    bad, arrays, strings = chunk_parser(plan, quoted, typed)(lines)
    if bad:
        return "a value is missing without a default, not of its column's type, or not finite", newlines
    try:
        distinct = tuple(tuple(s.decode("utf-8") for s in d.numpy()) for d in strings)
    except UnicodeDecodeError:
        return "a string is not valid UTF-8", newlines
    arrays = tuple(a.numpy() for a in arrays)
    exact = None
    if _needs_direct_parse(plan, arrays):
        _, direct, _ = chunk_parser(plan, quoted, typed, wide=False)(lines)
        exact = direct[_float32_group(plan)].numpy()
    return _narrowed(plan, arrays, distinct, exact), newlines


def _float32_group(plan: ChunkPlan) -> int | None:
    """The position of the float32 group among a plan's arrays, if it has one."""
    dtypes = [dtype for dtype, _ in plan.groups]
    return dtypes.index("float32") if "float32" in dtypes else None


def _needs_direct_parse(plan: ChunkPlan, arrays: tuple[np.ndarray, ...]) -> bool:
    at = _float32_group(plan)
    return at is not None and needs_direct_parse(arrays[at])


def _narrowed(plan: ChunkPlan, arrays: tuple, strings: tuple, exact: np.ndarray | None = None) -> tuple:
    """`(arrays, strings, losses)` with the float32 group, parsed as float64, made float32.

    `exact` is the group parsed straight to float32, where the float64 may round otherwise.
    """
    at = _float32_group(plan)
    if at is None:
        return arrays, strings, ()
    values = arrays[at]
    narrowed = values.astype(np.float32) if exact is None else exact
    return arrays[:at] + (narrowed,) + arrays[at + 1 :], strings, tuple(float32_losses(values, narrowed))
