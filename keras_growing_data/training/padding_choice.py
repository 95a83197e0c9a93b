"""Whether a trainer pads the last batch of each epoch, from `pad_last_batch`, the model and the run."""

import keras

from keras_growing_data.training.padded_metrics import padding_changes
from keras_growing_data.utils.keras_backend import compiles_per_batch_shape


def pads_last_batch(
    model: keras.Model, pad_last_batch: bool | str, class_weight: dict | None, has_label: bool
) -> bool:
    """Whether to pad, as `GrowingDataCallback(pad_last_batch=...)` says for this model and run.

    `"auto"` pads when there is a label, the model compiles a step per batch
    shape or a `keras.distribution` is set, and padding is exact: a class
    weight of 0 would make real rows look like padding to the metrics
    (`metrics_of_real_rows`), and some models cannot be padded exactly
    (`padding_changes`: a summed loss, several `tf.distribute` replicas).

    Example:

    >>> pads_last_batch(model, "auto", class_weight=None, has_label=True)
    True

    Raises:
        ValueError: `True` (or a distribution) where padding cannot be
            exact, or `False` under a distribution.
    """
    zero_class_weight = bool(class_weight) and any(w == 0 for w in class_weight.values())
    if pad_last_batch is True and zero_class_weight:
        raise ValueError(
            "pad_last_batch=True cannot take a class_weight of 0: its rows would count as padding "
            "in the metrics; give the class a small weight, or pad_last_batch=False."
        )
    distributed = keras.distribution.distribution() is not None
    if pad_last_batch is False and distributed:
        raise ValueError(
            "Under a keras.distribution (DataParallel), every batch must split evenly over the "
            "devices, and only padding makes the last one do so: pad_last_batch must be 'auto' or True."
        )
    changes = padding_changes(model)
    if changes and (pad_last_batch is True or distributed):
        raise ValueError(
            f"Padding the last batch (pad_last_batch=True, or a keras.distribution) cannot be exact: "
            f"{changes}. Use pad_last_batch=False."
        )
    if pad_last_batch != "auto":
        return pad_last_batch
    pad = has_label and not zero_class_weight and changes is None
    return pad and (distributed or compiles_per_batch_shape(model))
