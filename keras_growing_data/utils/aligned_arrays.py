"""Arrays whose memory TensorFlow takes as is, without a copy."""

import numpy as np

# Measured on TF 2.21: `tf.convert_to_tensor` shares a NumPy array's memory when its address is
# a multiple of 64 (Eigen's alignment) and copies it otherwise; numpy's own arrays are aligned to
# 16. `tf.constant` always copies.
ALIGNMENT = 64


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype | str) -> np.ndarray:
    """An uninitialised array at a 64-byte aligned address, which `tf.convert_to_tensor` shares.

    Its pages become resident only as they are written, so filling it
    piece by piece from buffers freed as they are copied keeps memory flat.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + nbytes].view(dtype).reshape(shape)
