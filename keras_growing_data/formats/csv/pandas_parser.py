"""Parses chunks of CSV lines with pandas' C parser, if installed, where it reads them as TensorFlow does."""

import importlib
import io
from types import ModuleType

import numpy as np

from keras_growing_data.formats.csv.line_widths import fields_fit
from keras_growing_data.formats.csv.tf_parser import ChunkPlan
from keras_growing_data.formats.schema import SPACES

# Fuzzing pandas' float parser (pandas 3.1, C engine, `na_filter=False`)
# against `decode_csv` found one kind of field it reads that TensorFlow
# refuses: the booleans `True`, `TRUE`, `true`, `False`, `FALSE`, `false`, as
# 1 and 0. A chunk that gave a 0 or a 1 and holds their letters goes to
# TensorFlow (searching every chunk for them would cost a tenth of the
# parse); so does one with quotes (pandas takes `"a"b` as `ab`, and a
# quoted line break as part of a field, both of which TensorFlow refuses)
# or CRs. pandas also reads `1.0` and `1e3` as the int64 1 and 1000, so a
# plan with an int64 column is left to TensorFlow.
NOT_FOR_PANDAS = (b'"', b"\r")
BOOLEAN_LETTERS = (b"rue", b"RUE", b"alse", b"ALSE")
# The float64s from here on round to float32 infinity: 2^128 - 2^103, the midpoint above float32's max.
FLOAT32_OVERFLOW = 2.0**128 - 2.0**103


def load_pandas() -> ModuleType | None:
    """The pandas module, or None where it is not installed."""
    try:
        return importlib.import_module("pandas")
    except ImportError:
        return None


def takes_plan(plan: ChunkPlan) -> bool:
    """Whether chunks of this plan can be parsed here at all.

    Not with an int64 column (see `NOT_FOR_PANDAS`), nor if a missing-value
    spelling is a number (pandas would read it as one).
    """
    return plan.numbers_are_values and all(dtype != "int64" for dtype, _ in plan.groups)


def parse_chunk_with_pandas(pandas: ModuleType, data: bytes, plan: ChunkPlan) -> tuple[tuple, tuple] | None:
    """A chunk's arrays and distinct strings (as `chunk_parser` gives them, floats as float64), or None.

    None means "not judged here": the chunk holds one of `NOT_FOR_PANDAS`,
    or a blank line, or a line of another width, or a missing value, or
    pandas refused it, or a value is not finite. TensorFlow's parser then
    judges the chunk and says why. So every line of a chunk parsed here is
    one row, with the values TensorFlow would give it.

    Args:
        pandas: the pandas module.
        data: whole lines (the last may lack its newline).
        plan: the columns to read and how they are stored.
    """
    if any(bad in data for bad in NOT_FOR_PANDAS):
        return None
    positions = plan.positions
    # float64, as pandas parses anyway: a cast of its own would hide what float32 changes.
    dtypes = {p: (object if plan.dtype_at(p) == "string" else np.float64) for p in positions}
    # Reading every field, pandas itself refuses a longer line and pads a
    # shorter one with NaN, refused below; with `usecols` it does neither,
    # so the widths are counted here (no quotes: a comma ends a field).
    every_field = len(positions) == plan.num_fields
    if not every_field and not fields_fit(data, plan.num_fields):
        return None
    try:
        # A value beyond float32 becomes inf, refused below; numpy need not warn.
        with np.errstate(over="ignore"):
            frame = pandas.read_csv(
                io.BytesIO(data),
                header=None,
                usecols=None if every_field else list(positions),
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
    could_be_booleans = False
    for dtype, columns in plan.groups:
        parts = []
        for _, position, default in columns:
            if position is None:
                parts.append(np.full(len(frame), 0 if dtype == "string" else default, np.float64))
                if dtype == "string":
                    strings.append((default,))
                continue
            column = frame[position].to_numpy()
            if dtype == "string":
                # In the order first seen, as tf.unique gives them.
                codes, distinct = pandas.factorize(column)
                # Padding of a short line is NaN, not a str.
                if any(
                    not isinstance(value, str) or value.strip(SPACES) in plan.na_values for value in distinct
                ):
                    return None  # A missing string: TensorFlow fills it or names it.
                parts.append(codes)
                strings.append(tuple(distinct))
            else:
                if not (np.abs(column) < FLOAT32_OVERFLOW).all():
                    return None  # Not finite as a float32 (NaN fails the comparison too).
                could_be_booleans = could_be_booleans or bool(((column == 0) | (column == 1)).any())
                parts.append(column)
        stored = np.int32 if dtype == "string" else np.float64
        arrays.append(np.stack(parts, axis=1).astype(stored, copy=False))
    if could_be_booleans and any(letters in data for letters in BOOLEAN_LETTERS):
        return None
    return tuple(arrays), tuple(strings)
