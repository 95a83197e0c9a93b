"""Finds which columns of a CSV file hold only numbers (missing values aside), to infer a schema."""

import collections
import concurrent.futures
import functools
import itertools
from collections.abc import Iterator

import numpy as np

from keras_growing_data.formats.csv.chunk_rows import parse_chunk
from keras_growing_data.formats.csv.line_checks import good_lines
from keras_growing_data.formats.csv.line_widths import fields_fit
from keras_growing_data.formats.csv.tf_parser import NO_DEFAULT, ChunkPlan, lines_of, numeric_fields
from keras_growing_data.formats.line_chunks import LineTooLong
from keras_growing_data.formats.number_syntax import parses_as_number
from keras_growing_data.formats.schema import SPACES


def numeric_columns(
    chunks: Iterator[bytes],
    num_fields: int,
    na_values: frozenset[str],
    pandas,
    pool: concurrent.futures.Executor,
    workers: int,
) -> np.ndarray:
    """Per field position, whether every value of the file's lines (`chunks`, the header first) is a number.

    A line too long or of the wrong width is left out here (the read that
    follows names it). Chunks are judged in parallel in `pool`; the first
    line's values are a guess, which most chunks confirm at the cost of a
    parse (`_numeric_fields`).
    """
    numeric = np.ones(num_fields, bool)
    pending = collections.deque()
    try:
        body = next(chunks).partition(b"\n")[2]
        # The first line's values are a guess that most chunks confirm at the cost of a read.
        numeric &= _numbers_in(body[: body.find(b"\n") + 1 or len(body)], num_fields, na_values)
        guess = tuple(numeric)
        as_guessed = functools.partial(parse_chunk, _guessed_plan(guess), pandas)
        for data in itertools.chain([body], chunks):
            # Until a chunk proved the guess wrong, chunks are tried as guessed.
            confirm = as_guessed if tuple(numeric) == guess else None
            pending.append(pool.submit(_numeric_fields, confirm, data, guess, na_values))
            if len(pending) > 2 * workers:
                numeric &= pending.popleft().result()
            if not numeric.any():
                break
    except LineTooLong:
        pass
    for future in pending:
        numeric &= future.result()
    return numeric


def _numeric_fields(
    as_guessed, data: bytes, guess: tuple[bool, ...], na_values: frozenset[str]
) -> np.ndarray:
    """Per field position, whether every value of a chunk is missing or a number.

    With `as_guessed`, a chunk is first parsed with the guessed columns
    as float32 and the others as strings (by pandas or TensorFlow, as a
    read would): if it parses, the guess holds for it, found at a
    fraction of the cost of looking at every field as a string.
    """
    num_fields = len(guess)
    lines = lines_of(data)
    if not lines:
        return np.ones(num_fields, bool)
    if as_guessed is not None and not isinstance(as_guessed(data)[0], str):
        return np.array(guess)
    if not fields_fit(lines, num_fields):
        return _numbers_in(data, num_fields, na_values)
    return numeric_fields(num_fields, tuple(sorted(na_values)), b'"' in lines)(lines).numpy()


def _numbers_in(data: bytes, num_fields: int, na_values: frozenset[str]) -> np.ndarray:
    """`_numeric_fields` judged in Python, line by line, leaving out lines that do not parse."""
    numeric = np.ones(num_fields, bool)
    for fields in good_lines(data, num_fields):
        numeric &= [v.strip(SPACES) in na_values or parses_as_number(v) for v in fields]
    return numeric


@functools.cache
def _guessed_plan(numeric: tuple[bool, ...]) -> ChunkPlan:
    """A plan that reads the `numeric` fields as required finite float32s, the others as strings.

    A chunk parses with it only if every value of those fields is a number.
    """
    floats = tuple((str(i), i, NO_DEFAULT) for i, number in enumerate(numeric) if number)
    strings = tuple((str(i), i, NO_DEFAULT) for i, number in enumerate(numeric) if not number)
    groups = (("float32", floats),) * bool(floats) + (("string", strings),) * bool(strings)
    return ChunkPlan(len(numeric), groups, ("",), numbers_are_values=True)
