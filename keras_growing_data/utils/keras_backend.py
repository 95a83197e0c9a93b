"""What the Keras backend in use can take: the checks of what needs TensorFlow's."""

import keras


def require_tensorflow_backend(what: str, instead: str) -> None:
    """Raises `RuntimeError` naming `what` and `instead` unless Keras runs on TensorFlow."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"{what} needs Keras's TensorFlow backend, but this process runs Keras on {backend!r} "
            f"(KERAS_BACKEND={backend}). {instead}"
        )


def compiles_per_batch_shape(model: keras.Model) -> bool:
    """Whether `model`'s train step is compiled anew for each new batch shape.

    So it is with XLA (`jit_compile=True`: JAX's default, TensorFlow's on a
    GPU) and with `torch.compile` (`jit_compile=True` on PyTorch), but not
    in TensorFlow's `tf.function` without XLA, whose batch dimension is
    unknown, nor when the model runs eagerly.
    """
    return bool(model.jit_compile) and not model.run_eagerly
