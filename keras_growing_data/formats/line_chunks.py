"""Cuts a text file's bytes (CSV, JSON Lines) into chunks of whole lines, none over `max_line_bytes`."""

import functools
import itertools
from collections.abc import Iterable, Iterator

from keras_growing_data.errors import BadFileError


class LineTooLong(Exception):
    """A line longer than `max_line_bytes`, found while reading."""


def blocks(f, chunk_bytes: int, max_line_bytes: int) -> Iterator[bytes]:
    """Yields the file's bytes in reads no longer than the longest line allowed."""
    return iter(functools.partial(f.read, min(chunk_bytes, max_line_bytes)), b"")


def line_chunks(blocks: Iterable[bytes], chunk_bytes: int, max_line_bytes: int) -> Iterator[bytes]:
    """Yields chunks of whole lines, of `chunk_bytes` or more; raises `LineTooLong` for a long line."""
    carry = b""
    lines, size = [], 0
    # No block is longer than the longest line allowed, so only a line
    # that spans blocks (the carry and what follows it) can be too long.
    for block in blocks:
        data = carry + block
        first_end = data.find(b"\n")
        if carry and (first_end if first_end >= 0 else len(data)) > max_line_bytes:
            if lines:  # The lines before it: the format numbers the long one from them.
                yield b"".join(lines)
            raise LineTooLong
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        lines.append(data[:cut])
        size += cut
        carry = data[cut:]
        if size >= chunk_bytes:
            yield b"".join(lines)
            lines, size = [], 0
    if lines:
        yield b"".join(lines)
    if carry:
        yield carry


def chunks_after_checks(content, chunk_bytes: int, max_line_bytes: int) -> Iterator[bytes]:
    """The chunks of whole lines of a file's content (`content_of`), once it shows it is not empty."""
    read = blocks(content, chunk_bytes, max_line_bytes)
    head = next(read, b"")
    if not head:
        raise BadFileError("the file is empty")
    return line_chunks(itertools.chain([head], read), chunk_bytes, max_line_bytes)


def too_long(line: str, max_line_bytes: int) -> BadFileError:
    """The error for a line longer than `max_line_bytes`."""
    return BadFileError(f"{line} is longer than the maximum of {max_line_bytes} bytes (max_line_bytes)")
