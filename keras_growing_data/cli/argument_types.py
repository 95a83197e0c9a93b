"""The argparse types of the command line's options: each checks one option where it is given.

They import neither TensorFlow nor numpy, so that a wrong option is
answered at once.
"""

import argparse
from collections.abc import Callable

from keras_growing_data.utils.arguments import check_labels, check_text


def checked(check: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse type from one of `utils.arguments`' checks of a text option."""

    def parse(text: str):
        try:
            return check(text)
        except (TypeError, ValueError) as e:
            raise argparse.ArgumentTypeError(str(e).rstrip(".")) from None

    return parse


def at_least(minimum: float, kind: type = int) -> Callable[[str], float]:
    """An argparse type: a number of `kind` that is at least `minimum`."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if not value >= minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum:g}, got {text}")
        return value

    return parse


LABEL = checked(lambda text: check_labels(text)[0])
PATTERN = checked(lambda text: check_text("pattern", text))
