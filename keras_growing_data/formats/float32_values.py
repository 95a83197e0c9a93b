"""Float32 values from parsed float64 ones, as TensorFlow's float32 parser gives them; what float32 loses."""

from collections.abc import Sequence

import numpy as np

SMALLEST_NORMAL = 2.0**-126
EXACT_INTEGERS = 2.0**24
# float64 keeps 29 fraction bits more than float32: a float32 midpoint has them at 1000...0.
_EXTRA_BITS = np.uint64((1 << 29) - 1)
_MIDPOINT = 1 << 28
# pandas' float parser (xstrtod, "high" precision) may be an ulp or so off the nearest float64.
_SLACK_ULPS = 2


def needs_direct_parse(values: np.ndarray) -> bool:
    """Whether float64 values may round to other float32s than their decimals would.

    Rounding a decimal to float64 and then to float32 differs from
    rounding it to float32 at once (as `decode_csv` does) only where the
    float64 lies on the midpoint of two float32s: a midpoint is itself a
    float64, so a decimal off it rounds to a float64 on its own side. These
    values (within a couple of float64 ulps, for parsers that are not
    exactly rounded), and those below float32's normal range, are parsed
    again straight to float32. Of 5,000 decimals written next to such
    midpoints, about half differed by one ulp when rounded twice.
    """
    values = np.ascontiguousarray(values, np.float64)
    extra = (values.view(np.uint64) & _EXTRA_BITS).astype(np.int64)
    tiny = (np.abs(values) < SMALLEST_NORMAL) & (values != 0)
    return bool((np.abs(extra - _MIDPOINT) <= _SLACK_ULPS).any() or tiny.any())


def float32_losses(values: np.ndarray, narrowed: np.ndarray) -> list[tuple[int, float, int, float]]:
    """Per column, `(integers changed, the first, non-zero values made 0, the first)` by float32."""
    losses = []
    for j in range(values.shape[1]):
        exact, kept = values[:, j], narrowed[:, j]
        # Integers int64 could hold: beyond it, declaring int64 would not help.
        big = (np.abs(exact) > EXACT_INTEGERS) & (np.abs(exact) < 2.0**63)
        integers = big & (exact == np.floor(exact)) & (kept.astype(np.float64) != exact) if big.any() else big
        zeros = (kept == 0) & (exact != 0)
        losses.append(
            (
                int(integers.sum()),
                float(exact[integers][0]) if integers.any() else 0.0,
                int(zeros.sum()),
                float(exact[zeros][0]) if zeros.any() else 0.0,
            )
        )
    return losses


def loss_notes(names: Sequence[str], losses: Sequence[tuple[int, float, int, float]]) -> tuple[str, ...]:
    """What float32 changed, in words, one note per column that lost something."""
    notes = []
    for name, (integers, integer, zeros, zero) in zip(names, losses, strict=True):
        if integers:
            notes.append(
                f"column {name!r}: {integers} integer value(s) beyond 2^24 are not exact in float32 "
                f"({integer:.0f} became {np.float32(integer):.0f}); declare the column int64 to keep them"
            )
        if zeros:
            notes.append(
                f"column {name!r}: {zeros} non-zero value(s) are below float32's range and became 0 "
                f"(the first: {zero!r})"
            )
    return tuple(notes)
