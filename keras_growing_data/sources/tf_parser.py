"""TensorFlow's CSV parser on chunks of lines: one traced `decode_csv` call per chunk."""

import functools
import re

import tensorflow as tf


def lines_of(data: bytes) -> bytes:
    """The non-blank lines of a chunk, LF-separated, with no final newline.

    `decode_csv` rejects a trailing CR and an empty record, and filtering
    lines on the TF side copies every string, so this is done on the bytes,
    and only when a chunk holds a CR or a blank line.
    """
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    if b"\n\n" in data or data.startswith(b"\n"):
        data = b"\n".join(line for line in data.split(b"\n") if line)
    return data.removesuffix(b"\n")


@functools.cache
def chunk_parser(num_columns: int, order: tuple[int, ...]):
    """The traced parse function of one schema, shared by every reader."""
    defaults = [tf.constant([], tf.float32)] * num_columns

    def decode(lines, quoted):
        columns = tf.io.decode_csv(lines, defaults, use_quote_delim=quoted)
        return tf.stack([columns[i] for i in order], axis=1)

    @tf.function(
        input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.bool)],
        autograph=False,
    )
    def parse(chunk, quoted):
        lines = tf.strings.split(chunk, "\n")
        # Quote handling halves decode_csv's speed (measured, TF 2.21), so it
        # is only switched on for chunks that hold a quote character.
        rows = tf.cond(quoted, lambda: decode(lines, True), lambda: decode(lines, False))
        return rows, tf.reduce_all(tf.math.is_finite(rows))

    return parse


def tf_message(error: Exception) -> str:
    """The words of TensorFlow's parse error a person can act on, without graph-execution noise."""
    if not isinstance(error, tf.errors.OpError):
        return str(error)
    message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", error.message)
    # In graph mode the first line is "Graph execution error:"; the op's own
    # words (`Field 1 in record 0 is not a valid float: 1_000`) come later.
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    said = [line for line in lines if re.match(r"(Field|Expect|Unquoted|Quoted)\b", line)]
    return (said or lines or [message])[0]
