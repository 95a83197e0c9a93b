import random

import numpy as np
import pytest
import tensorflow as tf

from keras_growing_data.formats.csv.line_checks import split_fields, value_problem

FIELDS = [
    "1", "-0", "+1", "1.", ".5", "00012", "1E5", "0.1e-3", "1e-50", "3.4028236e38", "1e39", "  1.5",
    "1.5  ", "\t1.5", " ", "", "-", "+", ".", "..1", "1e", "1e+", "e1", "--1", "1.2.3", "1.5 2", "nan",
    "-nan", "NaN", "inf", "-inf", "Infinity", "infinit", "TRUE", "NA", "0x10", "0X1p3", "+0x.8", "0x",
    "1_000", "1d5", "1.5f", "\x0b1", "1\x0c", "\u00a01", "\uff11", "\u00bd", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "007",
]  # fmt: skip


def tensorflow_reads(field, dtype):
    """Whether decode_csv reads `field` as a (finite, for floats) value of `dtype`."""
    defaults = [tf.constant([], getattr(tf, dtype)), tf.constant([], tf.string)]
    try:
        value = tf.io.decode_csv([f"{field},1"], defaults)[0].numpy()[0]
    except tf.errors.InvalidArgumentError:
        return False
    return dtype == "int64" or bool(np.isfinite(value))


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_numbers_are_judged_as_tensorflow_reads_them(dtype):
    rng = random.Random(0)
    alphabet = "0123456789+-.eE \tnaifNAIxX_pPabcdef\x0b"
    fuzzed = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    accepted = 0
    for field in FIELDS + fuzzed:
        assert (value_problem(field, dtype) is None) == tensorflow_reads(field, dtype), repr(field)
        accepted += value_problem(field, dtype) is None
    assert accepted > 200  # Both outcomes are common enough to mean something.


def test_fields_are_split_as_decode_csv_splits_them():
    rng = random.Random(0)
    agreed_bad = 0
    for _ in range(5000):
        line = "".join(rng.choice('ab," ') for _ in range(rng.randint(1, 8)))
        try:
            ours = split_fields(line)
        except ValueError:
            ours = None
        width = len(ours) if ours else line.count(",") + 1
        try:
            fields = tf.io.decode_csv([line], [tf.constant([""])] * width, use_quote_delim=True)
            theirs = [f.numpy()[0].decode() for f in fields]
        except tf.errors.InvalidArgumentError:
            theirs = None
        assert ours == theirs, repr(line)
        agreed_bad += ours is None
    assert 500 < agreed_bad < 4500  # Both outcomes are common enough to mean something.


def test_split_reasons_say_what_is_wrong():
    assert split_fields('a,"b,c",""""') == ["a", "b,c", '"']
    assert split_fields("a,") == ["a", ""]
    for line, reason in [
        ('"a', "a quoted field has no closing quote"),
        ('"a"b', "a quoted field goes on after its closing quote"),
        ('a"b', "a quote inside an unquoted field"),
    ]:
        with pytest.raises(ValueError, match=reason):
            split_fields(line)
