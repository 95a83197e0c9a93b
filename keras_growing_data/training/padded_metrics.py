"""Keeps a padded batch's copies out of the compiled metrics."""

import contextlib

import keras


@contextlib.contextmanager
def metrics_of_real_rows(model: keras.Model):
    """While it lasts, `model`'s compiled metrics see only a padded batch's real rows.

    A padded batch (`padded_batches`) gives its copies sample weight 0 and
    its real rows `padded / n` times their own weight, which makes the loss
    that of the unpadded batch. Keras gives `metrics=` no sample weight
    (Keras 3.15, `trainers/compile_utils.py`, `CompileMetrics.update_state`),
    so they would count the copies, and `weighted_metrics=` the `padded / n`.
    Here `model.compute_metrics`, which every backend's `train_step` and
    `test_step` call, gives `metrics=` the weight 1 for each real row and 0
    for each copy, and `weighted_metrics=` the rows' own weights: each batch
    and each epoch then has the metrics of the unpadded batches.

    Example:

    ```python
    with metrics_of_real_rows(model):
        model.fit(padded_batches(dataset, batch_size=64))
    ```

    Args:
        model: a compiled Keras model.
    """
    compute_metrics = model.compute_metrics
    compile_metrics = model._compile_metrics
    real_rows = []  # The weight of each row for `metrics=`, set for the current batch.
    wrapped = []

    def weigh_unweighted_metrics():
        for metrics in compile_metrics._flat_metrics:
            if metrics is not None:
                metrics.update_state = _with_weight(metrics.update_state, real_rows)
                wrapped.append(metrics)

    def padded_compute_metrics(x, y, y_pred, sample_weight=None):
        if sample_weight is None or compile_metrics is None:
            return compute_metrics(x, y, y_pred, sample_weight)
        if not compile_metrics.built:
            compile_metrics.build(y, y_pred)
        if not wrapped:
            weigh_unweighted_metrics()
        weight = keras.ops.convert_to_tensor(sample_weight, "float32")
        real = keras.ops.cast(weight > 0, "float32")
        # Real rows weigh `padded / n` times their own weight: undo that.
        own_weight = weight * keras.ops.sum(real) / keras.ops.cast(keras.ops.shape(weight)[0], "float32")
        real_rows.append(real)
        try:
            return compute_metrics(x, y, y_pred, own_weight)
        finally:
            real_rows.pop()

    model.compute_metrics = padded_compute_metrics
    _forget_compiled_steps(model)
    try:
        yield model
    finally:
        del model.compute_metrics
        for metrics in wrapped:
            del metrics.update_state
        _forget_compiled_steps(model)


def _forget_compiled_steps(model: keras.Model) -> None:
    """Makes the next `fit` or `evaluate` trace its step anew, with `compute_metrics` as it is now.

    A compiled step keeps the `compute_metrics` it was traced with (and
    Keras reuses it: `make_train_function` returns early when
    `train_function` is set), so one traced outside would ignore the
    padding, and one traced inside would keep it for later `fit` calls.
    """
    model.train_function = None
    model.test_function = None


def _with_weight(update_state, weights: list):
    """`update_state` of unweighted metrics, given the sample weight `weights[-1]`."""

    def weighted_update_state(y_true, y_pred, sample_weight=None):
        return update_state(y_true, y_pred, sample_weight=weights[-1])

    return weighted_update_state
