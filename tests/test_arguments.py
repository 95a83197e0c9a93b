import pathlib

import numpy as np
import pytest

from keras_growing_data.utils.arguments import (
    check_bool,
    check_choice,
    check_int,
    check_labels,
    check_number,
    check_path,
    check_text,
)


def test_good_values_pass_through_normalised():
    assert check_int("n", np.int64(3), minimum=1) == 3 and type(check_int("n", np.int64(3))) is int
    assert check_number("s", 2, minimum=0) == 2.0 and check_number("s", np.float32(0.5), positive=True) == 0.5
    assert check_bool("b", np.bool_(True)) is True
    assert check_choice("c", "disk", ("memory", "disk")) == "disk"
    assert check_text("t", "*.csv") == "*.csv"
    assert check_path("p", pathlib.Path("a/b")) == "a/b" and check_path("p", None, optional=True) is None
    assert check_path("p", "gs://bucket/x") == "gs://bucket/x"
    assert check_labels(None) == [] and check_labels("y") == ["y"] and check_labels(("a", "b")) == ["a", "b"]
    assert check_labels(np.array(["a", "b"])) == ["a", "b"]  # Or a pandas Index: any iterable of names.
    assert check_labels({"out_a": "y", "out_b": ["z", "w"]}) == ["y", "z", "w"]
    assert check_number("w", float("inf"), minimum=0, infinite=True) == float("inf")


@pytest.mark.parametrize(
    "check, error, message",
    [
        (lambda: check_int("n", True), TypeError, "n must be an integer, got True (bool)"),
        (lambda: check_int("n", 0, minimum=1), ValueError, "n must be >= 1, got 0"),
        (lambda: check_number("s", float("nan")), ValueError, "s must be a number, got nan"),
        (lambda: check_number("s", 0, positive=True), ValueError, "s must be > 0, got 0"),
        (lambda: check_number("s", None), TypeError, "s must be a number, got None (NoneType)"),
        (lambda: check_number("s", float("inf")), ValueError, "s must be finite, got inf"),
        (lambda: check_bool("b", "yes"), TypeError, "b must be True or False, got 'yes' (str)"),
        (lambda: check_choice("c", ["disk"], ("disk",)), ValueError, "c must be one of 'disk', got ['disk']"),
        (lambda: check_text("t", ""), ValueError, "t must not be empty"),
        (lambda: check_path("p", None), TypeError, "p must be a path (str or os.PathLike), got None"),
        (lambda: check_path("p", b"x"), TypeError, "p must be a path (str or os.PathLike), got b'x'"),
        (lambda: check_labels(b"y"), TypeError, "got b'y' (bytes)"),
        (lambda: check_labels({"y": 1}), TypeError, "or None; output 'y': got 1 (int)"),
        (lambda: check_labels({"y": ["a", "a"]}), ValueError, "label names a column more than once: ['a']"),
        (lambda: check_labels(["y", ""]), ValueError, "got an empty name in ['y', '']"),
    ],
)
def test_wrong_values_say_what_is_allowed(check, error, message):
    with pytest.raises(error) as raised:
        check()
    assert message in str(raised.value)
