"""Makes the losses and compiled metrics that Keras logs count each batch's real rows, and only them."""

import contextlib
import threading
from collections.abc import Collection

import keras

STEPS = ("train_step", "test_step")


@contextlib.contextmanager
def metrics_of_real_rows(model: keras.Model, padded_steps: Collection[str] = ()):
    """While it lasts, `model`'s logged losses and compiled metrics count only each batch's real rows.

    A padded batch (`padded_batches`) gives its copies sample weight 0 and
    its real rows `padded / n` times their own weight, which makes each
    batch's loss and gradient those of the unpadded batch. What Keras logs
    counts rows by the batch's shape, though (Keras 3.15.1): the `loss`
    tracker and, for several outputs, each output's loss tracker are means
    weighted by `shape(x)[0]` (`backend/*/trainer.py`, `train_step` and
    `test_step`; `trainers/compile_utils.py`, `CompileLoss.call`), so the
    padded last batch would weigh as a full one in the epoch's mean;
    `metrics=` get no sample weight (`CompileMetrics.update_state`), so they
    would count the copies; and `weighted_metrics=` would see the `padded / n`.
    And each output's loss tracker takes the batch's static size, which a
    traced TensorFlow step does not know: there every batch, the short last
    one too, weighs 1, and the logged `loss` is not the sum of the output
    losses, padded or not, as in a plain `model.fit` on TensorFlow (on JAX
    and PyTorch the static size is the row count).

    One mechanism mends all of it: each step (the model's own `train_step`
    or `test_step`, on every backend) notes its batch's real rows while it
    runs (all of them, unless the step is padded: then those of sample
    weight above 0), and every tracker and metric that `compile()` made
    takes its weight from that note: a loss tracker, the total's and each
    output's, the count of real rows, so that `loss` is the sum of the
    output losses (times their `loss_weights`, plus any regularization); in
    a padded step, `metrics=` 1 for a real row and 0 for a copy, and
    `weighted_metrics=` the rows' own weights. Each batch's and each epoch's
    logs are then the unpadded run's, to float32 rounding. A step that is
    not padded (validation arrays next to a padded training folder), or a
    batch without sample weights (a callback's own `model.evaluate(x, y)`
    during `fit`), has all its rows real: its metrics run as Keras wrote
    them. Within the `fit`, a callback's `model.evaluate` with sample
    weights of 0 through a padded `test_step` would see those rows as
    copies. Metrics that a model updates in its own `train_step` or
    `compute_metrics` are not reached. Under `tf.distribute` with several
    replicas a replica cannot tell the whole batch's real rows, so
    `serving` does not pad there.

    Example:

    ```python
    with metrics_of_real_rows(model, padded_steps=["train_step"]):
        model.fit(padded_batches(dataset, batch_size=64), validation_data=(x_val, y_val))
    ```

    Args:
        model: a compiled Keras model, built with its compiled loss and
            metrics (as `model._symbolic_build` leaves it).
        padded_steps: which of `"train_step"` and `"test_step"` get padded
            batches; none by default.
    """
    note = threading.local()  # A replica of `tf.distribute` traces its step in a thread of its own.
    wrapped = []

    def real_rows():
        return getattr(note, "rows", None)

    def weigh(metric, weight_of, value_args: int):
        """Wraps `metric.update_state(*values, sample_weight)`, whose weight may come positionally."""
        update_state = metric.update_state

        def update_state_of_real_rows(*args, sample_weight=None):
            if len(args) > value_args:
                args, sample_weight = args[:value_args], args[value_args]
            rows = real_rows()
            if rows is not None:
                sample_weight = weight_of(rows, sample_weight)
            return update_state(*args, sample_weight=sample_weight)

        metric.update_state = update_state_of_real_rows
        wrapped.append(metric)

    def noting_real_rows(step, padded: bool):
        def step_of_real_rows(*args):
            x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(args[-1])
            # No sample weight: not a padded batch (a callback's own `evaluate`), all rows real.
            if padded and sample_weight is not None:
                note.rows = _RealRows.of_padded(sample_weight)
            else:
                note.rows = _RealRows.all_of(x)
            try:
                return step(*args)
            finally:
                note.rows = None

        return step_of_real_rows

    loss_trackers = [model._loss_tracker]
    if model._compile_loss is not None:
        loss_trackers += model._compile_loss.metrics
    for tracker in loss_trackers:
        if tracker is not None:
            weigh(tracker, _real_count, value_args=1)
    metrics = model._compile_metrics
    for unweighted in [] if metrics is None else metrics._flat_metrics:
        if unweighted is not None:
            weigh(unweighted, _one_per_real_row, value_args=2)
    for weighted in [] if metrics is None else metrics._flat_weighted_metrics:
        if weighted is not None:
            weigh(weighted, _own_weight, value_args=2)
    for name in STEPS:
        setattr(model, name, noting_real_rows(getattr(model, name), padded=name in padded_steps))
    _forget_compiled_steps(model)
    try:
        yield model
    finally:
        for name in STEPS:
            delattr(model, name)
        for metric in wrapped:
            del metric.update_state
        _forget_compiled_steps(model)


class _RealRows:
    """A batch's real rows: their `count`, and in a padded batch which rows are real (`real`)."""

    def __init__(self, count, real=None, real_fraction=None):
        self.count = count
        self.real = real
        self.real_fraction = real_fraction

    @classmethod
    def all_of(cls, x) -> "_RealRows":
        """Every row of the batch `x` (any nest of tensors `[n, ...]`) is real."""
        return cls(keras.ops.cast(keras.ops.shape(keras.tree.flatten(x)[0])[0], "float32"))

    @classmethod
    def of_padded(cls, sample_weight) -> "_RealRows":
        """A padded batch's real rows, told by their sample weight: above 0 for a real row, 0 for a copy."""
        weight = keras.ops.convert_to_tensor(sample_weight, "float32")
        real = keras.ops.cast(weight > 0, "float32")
        count = keras.ops.sum(real)
        # A real row weighs `padded / n` times its own weight: this fraction `n / padded` undoes that.
        return cls(count, real, count / keras.ops.cast(keras.ops.shape(weight)[0], "float32"))


# The loss reductions under which a padded batch's loss is the unpadded one's (Keras 3.15.1,
# `losses/loss.py`, `reduce_values`): a mean over the rows, or over the weights, not a sum.
EXACT_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


def padding_changes(model: keras.Model) -> str | None:
    """What padding would change in `model`'s training or logs, if anything; else `None`.

    A loss summed rather than averaged (`reduction="sum"`) sums the real
    rows' `padded / n` weights, so the padded batch trains differently. And
    under `tf.distribute` with several replicas, a replica sees its own
    share of the batch, not how many of the whole batch's rows are real.

    Example:

    >>> padding_changes(model)  # compiled with loss=keras.losses.MeanSquaredError(reduction="sum")
    "the loss 'mean_squared_error' has reduction='sum', ..."
    """
    for loss in keras.tree.flatten(model.loss):
        reduction = getattr(loss, "reduction", "sum_over_batch_size")
        if isinstance(loss, keras.losses.Loss) and reduction not in EXACT_REDUCTIONS:
            return (
                f"the loss {loss.name!r} has reduction={reduction!r}, and a padded batch's loss would "
                f"differ from the unpadded one's (only {', '.join(EXACT_REDUCTIONS)} keep it)"
            )
    strategy = getattr(model, "distribute_strategy", None)
    replicas = getattr(strategy, "num_replicas_in_sync", 1)
    if replicas > 1:
        return (
            f"the model trains on {replicas} replicas of a tf.distribute strategy, none of which knows how "
            "many rows of the whole batch are real, so the logged loss and weighted metrics would differ"
        )
    return None


def _real_count(rows: _RealRows, weight):
    # Keras weighs the `loss` tracker by the batch's row count, but each output's by its static
    # size, which a traced TensorFlow step does not know (`None`: each batch weighs 1, Keras
    # 3.15.1, `CompileLoss.call`); both take the count of real rows here.
    return rows.count


def _one_per_real_row(rows: _RealRows, weight):
    return weight if rows.real is None else rows.real


def _own_weight(rows: _RealRows, weight):
    return weight if weight is None or rows.real is None else weight * rows.real_fraction


def _forget_compiled_steps(model: keras.Model) -> None:
    """Makes the next `fit` or `evaluate` trace its step anew, with the steps as they are now.

    A compiled step keeps the functions it was traced with (and Keras
    reuses it: `make_train_function` returns early when `train_function`
    is set), so one traced outside would ignore the padding, and one traced
    inside would keep it for later `fit` calls.
    """
    model.train_function = None
    model.test_function = None
