"""How far an accepted file was read, to take the complete lines appended to it since."""

import dataclasses
import re
import zlib
from collections.abc import Mapping

from keras_growing_data.errors import BadFileError, VanishedFileError
from keras_growing_data.formats.decompressed import MAGIC_BYTES, compression_of
from keras_growing_data.formats.file_format import FileFormat, ParsedFile
from keras_growing_data.formats.schema import Schema
from keras_growing_data.sources.records import AcceptedFile
from keras_growing_data.sources.watcher import FileStat

# The bytes at the start of what was read, and before its end, whose
# checksums tell that the part already read is unchanged.
CHECKED_BYTES = 4096
# Read backwards at once to find a file's last newline.
BACKWARD_READ_BYTES = 1 << 16


@dataclasses.dataclass(frozen=True)
class TailState:
    """Where reading an appended-to file stopped: after its last complete line.

    `offset` is the byte after the last newline read, `lines` the lines
    read (the header counted, if the file has one), so the next line is
    line `lines + 1`. The
    CRC-32s of the first `CHECKED_BYTES` and the last `CHECKED_BYTES`
    before `offset` tell whether the part already read was rewritten.
    `stopped` says why the file is no longer tailed, once it is not.

    After a copytruncate rotation (see `CopiedFiles`), `header` is the
    log's header line where it is not the file's first line (a writer that
    went on after the truncation without writing one), and the copy's
    `continued_at` is the path where its log goes on, whose first read
    looks for that header.

    Example:

    >>> state = TailState.of("logs/day.csv", offset=120, lines=6)
    >>> state.unchanged("logs/day.csv")
    True
    """

    offset: int
    lines: int
    head_crc: int
    end_crc: int
    stopped: str | None = None
    header: str | None = None
    continued_at: str | None = None

    @classmethod
    def of(cls, path: str, offset: int, lines: int, header: str | None = None) -> "TailState":
        """The state of a file read up to `offset`, which held `lines` lines (under `header`, if given)."""
        with open(path, "rb") as f:
            head, end = _checksums(f, offset)
        return cls(offset, lines, head, end, header=header)

    def read_to(self, path: str, offset: int, lines: int) -> "TailState":
        """The state once `path` was read further, up to `offset` and `lines` lines; the rest stays."""
        with open(path, "rb") as f:
            head, end = _checksums(f, offset)
        return dataclasses.replace(self, offset=offset, lines=lines, head_crc=head, end_crc=end)

    def held_by(self, path: str, size: int) -> bool:
        """Whether the file at `path`, of `size` bytes, begins with the bytes read (as far as checked)."""
        try:
            return size >= self.offset and self.unchanged(path)
        except OSError:
            return False  # Gone since it was listed.

    def header_bytes(self) -> bytes | None:
        """`header` as the format reads it."""
        return None if self.header is None else self.header.encode("utf-8", "surrogateescape")

    def unchanged(self, path: str) -> bool:
        """Whether the bytes read before are still the file's first `offset` bytes (as far as checked)."""
        with open(path, "rb") as f:
            return _checksums(f, self.offset) == (self.head_crc, self.end_crc)

    def to_json(self) -> dict:
        """The state as the journal keeps it."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Appended:
    """What a look at a tailed file found: new rows (`parsed`, or `None`) and where reading stops now."""

    tail: TailState
    parsed: ParsedFile | None = None


def read_appended(
    file_format: FileFormat,
    stat: FileStat,
    record: AcceptedFile,
    tail: TailState,
    schema: Schema,
    skip_bad_rows: bool,
    partition: Mapping[str, str],
    until: int | None = None,
) -> Appended:
    """The complete lines appended to an accepted file since `tail`, parsed; or why it is no longer tailed.

    The lines are read by `file_format`, which `tails`. Read up to byte
    `until` (where another reader stopped), else to the last newline: a
    partial last line is left for a later look. The file stops being
    tailed (`TailState.stopped` says why) if it is another file now, shrank,
    its part already read changed, or (without `skip_bad_rows`) a new
    line does not parse: its rows so far stay, nothing after is read.
    """
    if (stat.inode, stat.device) != (record.inode, record.device):
        return _stopped(tail, "was replaced by another file")
    if stat.size < tail.offset:
        return _stopped(tail, f"shrank from {tail.offset} to {stat.size} bytes")
    if not tail.unchanged(stat.path):
        return _stopped(tail, "changed in the part already read")
    end = complete_end(stat.path, tail.offset, stat.size) if until is None else until
    if end == tail.offset:
        return Appended(tail)
    try:
        parsed = file_format.read_lines(
            stat.path, schema, skip_bad_rows, partition, tail.offset, end, tail.lines + 1, tail.header_bytes()
        )
    except VanishedFileError:
        return Appended(tail)  # Renamed or deleted since its stat: its rows stay; looked at again.
    except BadFileError as e:
        return _stopped(tail, f"has appended lines that are bad: {e}")
    return Appended(tail.read_to(stat.path, end, tail.lines + parsed.lines), parsed)


def _stopped(tail: TailState, reason: str) -> Appended:
    return Appended(dataclasses.replace(tail, stopped=reason))


def complete_end(path: str, start: int, size: int) -> int:
    """The byte after the last line end (LF or CR) of `path` between `start` and `size`; else `start`.

    Read backwards from `size` in blocks, so a long file costs a block, not a read of it.
    """
    with open(path, "rb") as f:
        end = size
        while end > start:
            block = max(start, end - BACKWARD_READ_BYTES)
            f.seek(block)
            data = f.read(end - block)
            newline = max(data.rfind(b"\n"), data.rfind(b"\r"))  # CR alone ends a line too.
            if newline >= 0:
                return block + newline + 1
            end = block
    return start


def _checksums(f, offset: int) -> tuple[int, int]:
    f.seek(0)
    head = zlib.crc32(f.read(min(offset, CHECKED_BYTES)))
    f.seek(max(0, offset - CHECKED_BYTES))
    end = zlib.crc32(f.read(min(offset, CHECKED_BYTES)))
    return head, end


def first_line(path: str, limit: int) -> bytes:
    """The first line of `path`, without its line end (LF, CRLF or CR), from its first `limit` bytes."""
    with open(path, "rb") as f:
        return re.split(rb"[\r\n]", f.readline(limit), maxsplit=1)[0]


def is_tailable(path: str) -> bool:
    """Whether `path` can be tailed: a local file (a URL's object is not appended to), not an archive."""
    if "://" in path:
        return False
    try:
        with open(path, "rb") as f:
            return compression_of(f.read(MAGIC_BYTES)) is None
    except OSError:
        return False  # Its read says why.
