"""Parses chunks of plain numeric CSV lines with pandas' C parser, if installed."""

import importlib
import io
from types import ModuleType

import numpy as np

# The bytes a plain numeric chunk is made of. Within them pandas accepts only
# what `tf.io.decode_csv` accepts, with equal float32 values (tested against
# fuzzed fields); outside them it does not: it reads `TRUE` as 1, for one.
PLAIN_BYTES = b"0123456789+-.eE,\n \t"


def load_pandas() -> ModuleType | None:
    """The pandas module, or None where it is not installed."""
    try:
        return importlib.import_module("pandas")
    except ImportError:
        return None


def parse_plain_chunk(pandas: ModuleType, data: bytes, num_columns: int) -> np.ndarray | None:
    """A chunk's rows as a float32 `[lines, num_columns]` array, or None.

    None means "not judged here": the chunk holds other bytes than
    `PLAIN_BYTES` (quotes, letters, CRs), or a blank line, or pandas refused
    it, or a value is not finite. TensorFlow's parser then judges the chunk
    and says why. So every line of a chunk parsed here is one row.

    Args:
        pandas: the pandas module.
        data: whole lines (the last may lack its newline).
        num_columns: the fields every line must have.
    """
    if data.translate(None, PLAIN_BYTES):
        return None
    try:
        # A value beyond float32 becomes inf, refused below; numpy need not warn.
        with np.errstate(over="ignore"):
            frame = pandas.read_csv(
                io.BytesIO(data),
                header=None,
                dtype=np.float32,
                engine="c",
                na_filter=False,
                # Blank lines and lines of spaces fail instead of being skipped.
                skip_blank_lines=False,
            )
    except Exception:  # Whatever pandas refuses, TensorFlow judges and names.
        return None
    rows = frame.to_numpy()
    # pandas takes the column count from the chunk's first line and pads
    # shorter lines with NaN.
    if rows.shape[1] != num_columns or not np.isfinite(rows).all():
        return None
    return rows
