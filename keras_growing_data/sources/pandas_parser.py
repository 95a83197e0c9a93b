"""Parses chunks of plain CSV lines with pandas' C parser, if installed."""

import importlib
import io
from types import ModuleType

import numpy as np

from keras_growing_data.sources.tf_parser import ChunkPlan

# The bytes a plain chunk is made of. Within them pandas accepts only what
# `tf.io.decode_csv` accepts as a float32, with equal values (tested against
# fuzzed fields), and keeps a string field's text as it is; outside them it
# does not: it reads `TRUE` as 1, for one. It also reads `1.0` and `1e3` as
# the int64 1 and 1000, which TensorFlow refuses, so a plan with an int64
# column is left to TensorFlow.
PLAIN_BYTES = b"0123456789+-.eE,\n \t"


def load_pandas() -> ModuleType | None:
    """The pandas module, or None where it is not installed."""
    try:
        return importlib.import_module("pandas")
    except ImportError:
        return None


def takes_plan(plan: ChunkPlan) -> bool:
    """Whether chunks of this plan can be parsed here at all.

    Not if a missing-value spelling is a number (pandas would read it as one).
    """
    return plan.typed_first and all(dtype != "int64" for dtype, _ in plan.groups)


def parse_plain_chunk(pandas: ModuleType, data: bytes, plan: ChunkPlan) -> tuple[tuple, tuple] | None:
    """A chunk's stored arrays and distinct strings (as `chunk_parser` gives them), or None.

    None means "not judged here": the chunk holds other bytes than
    `PLAIN_BYTES` (quotes, letters, CRs), or a blank line, or a line of
    another width, or a missing value, or pandas refused it, or a value is
    not finite. TensorFlow's parser then judges the chunk and says why. So
    every line of a chunk parsed here is one row.

    Args:
        pandas: the pandas module.
        data: whole lines (the last may lack its newline).
        plan: the columns to read and how they are stored.
    """
    if data.translate(None, PLAIN_BYTES):
        return None
    positions = plan.positions
    dtypes = {p: (object if plan.dtype_at(p) == "string" else np.float32) for p in positions}
    # Reading every field as a float, pandas itself refuses a longer line and
    # pads a shorter one with NaN, refused below; otherwise (`usecols`, or
    # strings, where padding is no NaN) the widths are counted here.
    every_field_a_float = len(positions) == plan.num_fields and object not in dtypes.values()
    if not every_field_a_float and not _every_line_has(data, plan.num_fields):
        return None
    try:
        # A value beyond float32 becomes inf, refused below; numpy need not warn.
        with np.errstate(over="ignore"):
            frame = pandas.read_csv(
                io.BytesIO(data),
                header=None,
                usecols=None if every_field_a_float else list(positions),
                dtype=dtypes,
                engine="c",
                na_filter=False,
                # Blank lines and lines of spaces fail instead of being skipped.
                skip_blank_lines=False,
            )
    except Exception:  # Whatever pandas refuses, TensorFlow judges and names.
        return None
    if frame.shape[1] != len(positions):
        return None  # pandas takes the width from the first line.
    arrays, strings = [], []
    for dtype, columns in plan.groups:
        parts = []
        for _, position, default in columns:
            if position is None:
                parts.append(np.full(len(frame), 0 if dtype == "string" else default, np.float32))
                if dtype == "string":
                    strings.append((default,))
                continue
            column = frame[position].to_numpy()
            if dtype == "string":
                if any(value.strip() in plan.na_values for value in pandas.unique(column)):
                    return None  # A missing string: TensorFlow fills it or names it.
                codes, distinct = pandas.factorize(column)
                parts.append(codes)
                strings.append(tuple(distinct))
            else:
                if not np.isfinite(column).all():
                    return None
                parts.append(column)
        stored = np.int32 if dtype == "string" else np.float32
        arrays.append(np.stack(parts, axis=1).astype(stored, copy=False))
    return tuple(arrays), tuple(strings)


def _every_line_has(data: bytes, num_fields: int) -> bool:
    """Whether every line of a chunk without quotes has `num_fields` fields."""
    buffer = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buffer == ord("\n"))
    if not data.endswith(b"\n"):
        ends = np.append(ends, len(data))
    commas = np.flatnonzero(buffer == ord(","))
    per_line = np.diff(np.searchsorted(commas, ends), prepend=0)
    return bool((per_line == num_fields - 1).all())
