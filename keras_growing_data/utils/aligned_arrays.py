"""Arrays whose memory TensorFlow takes as is, without a copy."""

import numpy as np
import tensorflow as tf

# Measured on TF 2.21: `tf.constant` and `tf.convert_to_tensor` always copy a NumPy array;
# `tf.experimental.dlpack.from_dlpack` shares its memory, but aborts the process ("Check failed:
# IsAligned()", tensor.h) unless the address is a multiple of 64 (Eigen's alignment). NumPy
# aligns its arrays to 16 bytes.
ALIGNMENT = 64


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype | str) -> np.ndarray:
    """An uninitialised array at a 64-byte aligned address, which `shared_tensor` takes without a copy.

    Its pages become resident only as they are written, so filling it
    piece by piece from buffers freed as they are copied keeps memory flat.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def shared_tensor(array: np.ndarray) -> tf.Tensor:
    """A tensor of `array`: sharing its memory where it is aligned, contiguous and writeable, else a copy.

    The tensor keeps the array's memory alive; the array must not be written afterwards.
    """
    flags = array.flags
    shareable = array.size and flags.c_contiguous and flags.writeable and array.ctypes.data % ALIGNMENT == 0
    if shareable:
        return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
    return tf.constant(array)
