"""Whether an open file is a whole Parquet file: Parquet's magic number at both ends, a footer that fits."""

import os

from keras_growing_data.errors import BadFileError, UnfinishedFileError
from keras_growing_data.formats.decompressed import MAGIC_BYTES, compression_of
from keras_growing_data.utils.printable import excerpt

MAGIC = b"PAR1"
# What ends a Parquet file whose footer is encrypted, instead of `MAGIC`.
ENCRYPTED_MAGIC = b"PARE"
# The footer's length (4 bytes, little-endian), then the magic number, end the file.
TAIL_BYTES = 8
UNFINISHED = "still being written, or cut short when copied"


def whole_size(f) -> int:
    """The size of an open file that is a whole Parquet file, checked by its first and last bytes.

    A Parquet file starts with `PAR1` and ends with its footer (the schema
    and where each row group is), the footer's length and `PAR1` again. Its
    writer writes the footer last, so a file without one is still being
    written, or was cut short: it is not read, and not judged bad for good.
    `f` is left at its start.

    Raises:
        BadFileError: the file is not Parquet (it does not start with
            `PAR1`), or its footer is encrypted.
        UnfinishedFileError: the file is empty, has no footer yet, or a
            footer longer than the file.
    """
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(0)
    head = f.read(MAGIC_BYTES)
    if not head.startswith(MAGIC[: len(head)]):
        compression = compression_of(head)
        if compression is not None:
            seen = f"it is {compression}-compressed: Parquet compresses inside the file, write it without"
        else:
            seen = f"it starts with {excerpt(head.decode('latin-1'))}"
        raise BadFileError(
            f"is not a Parquet file: it does not start with PAR1, Parquet's magic number ({seen})"
        )
    if size < 2 * len(MAGIC) + TAIL_BYTES:
        raise UnfinishedFileError(f"has no Parquet footer yet ({size} bytes): {UNFINISHED}")
    f.seek(size - TAIL_BYTES)
    tail = f.read(TAIL_BYTES)
    if tail[4:] == ENCRYPTED_MAGIC:
        raise BadFileError("is a Parquet file whose footer is encrypted, which is not read")
    if tail[4:] != MAGIC:
        raise UnfinishedFileError(f"has no Parquet footer yet (it does not end with PAR1): {UNFINISHED}")
    footer = int.from_bytes(tail[:4], "little")
    if footer > size - len(MAGIC) - TAIL_BYTES:
        raise UnfinishedFileError(
            f"has a Parquet footer of {footer} bytes, more than the file holds ({size} bytes): {UNFINISHED}"
        )
    f.seek(0)
    return size
