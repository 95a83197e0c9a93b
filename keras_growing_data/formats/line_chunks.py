"""Cuts a text file's bytes (CSV, JSON Lines) into chunks of whole lines, each ended by LF, none over
`max_line_bytes`."""

import functools
import itertools
from collections.abc import Iterable, Iterator

from keras_growing_data.errors import BadFileError


class LineTooLong(Exception):
    """A line longer than `max_line_bytes`, found while reading."""


def blocks(f, chunk_bytes: int, max_line_bytes: int) -> Iterator[bytes]:
    """Yields the file's bytes in reads no longer than the longest line allowed."""
    return iter(functools.partial(f.read, min(chunk_bytes, max_line_bytes)), b"")


def line_chunks(
    blocks: Iterable[bytes], chunk_bytes: int, max_line_bytes: int, after_cr: bool = False
) -> Iterator[bytes]:
    """Yields chunks of whole lines, of `chunk_bytes` or more; raises `LineTooLong` for a long line.

    Lines end in LF, CRLF or CR alone (old Mac files), mixed as they come,
    as pandas reads them; each ends in LF in the chunks. `after_cr`: the
    byte before the first block was a CR (an LF that starts it ends no line).
    """
    carry = b""
    lines, size = [], 0
    # No block is longer than the longest line allowed, so only a line
    # that spans blocks (the carry and what follows it) can be too long.
    for block in _line_feeds(blocks, after_cr):
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


def _line_feeds(blocks: Iterable[bytes], after_cr: bool) -> Iterator[bytes]:
    """The blocks with every CRLF and every CR alone made one LF, a CRLF split between two blocks too."""
    for block in blocks:
        if after_cr and block.startswith(b"\n"):
            block = block[1:]
        after_cr = block.endswith(b"\r")
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        yield block


def chunks_after_checks(content, chunk_bytes: int, max_line_bytes: int) -> Iterator[bytes]:
    """The chunks of whole lines of a file's content (`content_of`), once it shows it is not empty."""
    read = blocks(content, chunk_bytes, max_line_bytes)
    head = next(read, b"")
    if not head:
        raise BadFileError("the file is empty")
    return line_chunks(itertools.chain([head], read), chunk_bytes, max_line_bytes)


def header_line(f, max_line_bytes: int) -> bytes:
    """The first line of the open file `f`, without its line end (LF, CRLF or CR alone).

    Raises:
        BadFileError: it is longer than `max_line_bytes`.
    """
    line = f.readline(max_line_bytes + 1)
    ends = [at for at in (line.find(b"\r"), line.find(b"\n")) if at >= 0]
    if min(ends, default=len(line)) > max_line_bytes:
        raise too_long("line 1 (the header)", max_line_bytes)
    return line[: min(ends, default=len(line))]


def too_long(line: str, max_line_bytes: int) -> BadFileError:
    """The error for a line longer than `max_line_bytes`."""
    return BadFileError(f"{line} is longer than the maximum of {max_line_bytes} bytes (max_line_bytes)")
