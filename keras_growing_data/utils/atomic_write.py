"""Writes a file so that a crash leaves the old version or the new one, never half of one."""

import secrets

import tensorflow as tf


def write_atomically(path: str, data: bytes) -> None:
    """Writes under a temporary name of its own, then renames over `path`."""
    partial = f"{path}.{secrets.token_hex(4)}.partial"
    with tf.io.gfile.GFile(partial, "wb") as f:
        f.write(data)
    tf.io.gfile.rename(partial, path, overwrite=True)
