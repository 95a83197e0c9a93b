"""A sensible first model for a folder of CSV files: a small dense network."""

from collections.abc import Callable

import keras
import numpy as np

from keras_growing_data.training.callback import GrowingDataCallback

MAX_CLASSES = 20


def default_model(
    data: GrowingDataCallback,
    task: str = "auto",
    sample_rows: int = 100_000,
    print_fn: Callable[[str], None] | None = print,
) -> keras.Model:
    """Builds and compiles a dense network that fits the rows accepted so far.

    The network is `Normalization -> Dense(64, relu) -> Dense(64, relu) ->
    output`, trained with Adam. With string columns (served as ids:
    `strings_as="index"`), each goes through an `Embedding` with room for
    as many new strings as it holds now, beside the normalised numbers; a
    string label makes a classification over its ids, with the same room.
    With a dict of columns, the model's inputs are named after them: a
    string column's ids enter as int32, a number as float32, dtypes that
    every backend keeps (JAX, by default, turns int64 into int32 with a
    warning).
    The task is read from the label's values unless `task` names it:
    integers from 0 to at most `MAX_CLASSES - 1` make a classification into
    `max + 1` classes (a sigmoid output and binary cross-entropy for two, a
    softmax and sparse categorical cross-entropy for more, with `accuracy`);
    any other values make a regression (a linear output scaled to the
    label's mean and standard deviation, mean squared error, `mae`). The
    choice is printed with `print_fn`.

    Feature means and variances, and the regression's output scale, come
    from the first `sample_rows` rows accepted so far: a feature constant in
    them is centred but not scaled, and a class that first appears in a
    later file must still be below the number of classes chosen now.

    Example:

    ```python
    data = GrowingDataCallback("incoming/", label="species")
    data.poll()
    model = default_model(data)  # Prints the task it chose.
    GrowingDatasetTrainer(model, data).fit(epochs=20)
    ```

    Args:
        data: the callback watching the training folder, with one label
            column and at least one accepted row.
        task: `"auto"`, `"regression"` or `"classification"`.
        sample_rows: how many of the accepted rows set the scales.
        print_fn: where the sentence on the chosen task goes; `None` for
            nowhere.

    Returns:
        A compiled `keras.Model`.
    """
    if task not in ("auto", "regression", "classification"):
        raise ValueError(f"task must be 'auto', 'regression' or 'classification', got {task!r}.")
    if not isinstance(data.label, str):
        raise ValueError(f"default_model needs exactly one label column, got label={data.label!r}.")
    if data.num_rows == 0:
        raise ValueError(f"No rows accepted yet from {data.directory!r}: poll() once files are there.")
    x, y = _sample(data, sample_rows)
    string_label = data.schema[data.label] == "string"
    if string_label:
        _require_ids(data)
        if task == "regression":
            raise ValueError(f"Label {data.label!r} is a string column: it cannot be a regression target.")
        task = "classification"
    is_class_index = bool(np.all(y == np.round(y)) and y.min() >= 0)
    if task == "auto":
        task = "classification" if is_class_index and y.max() < MAX_CLASSES else "regression"
    elif task == "classification" and not is_class_index:
        raise ValueError(f"Label {data.label!r} holds values that are not class indices 0, 1, 2, ...")

    inputs, hidden = _feature_inputs(data, x)
    for _ in range(2):
        hidden = keras.layers.Dense(64, activation="relu")(hidden)
    if task == "classification":
        classes = _capacity(len(data.vocabulary(data.label))) if string_label else int(y.max()) + 1
        if classes <= 2:
            outputs = keras.layers.Dense(1, activation="sigmoid")(hidden)
            loss, how = "binary_crossentropy", "sigmoid output, binary cross-entropy"
        else:
            outputs = keras.layers.Dense(classes, activation="softmax")(hidden)
            loss, how = "sparse_categorical_crossentropy", "softmax output, sparse categorical cross-entropy"
        metrics = ["accuracy"]
        said = (
            f"Label {data.label!r} holds integers {int(y.min())}..{int(y.max())}: "
            f"classification into {max(classes, 2)} classes ({how})."
        )
        if string_label:
            said = (
                f"Label {data.label!r} holds {len(data.vocabulary(data.label)) - 1} strings so far: "
                f"classification into {classes} class ids, with room for new ones ({how})."
            )
    else:
        mean, std = float(y.mean()), float(y.std())
        scaled = keras.layers.Dense(1)(hidden)
        outputs = keras.layers.Rescaling(scale=std if std > 0 else 1.0, offset=mean)(scaled)
        loss, metrics = "mse", ["mae"]
        said = (
            f"Label {data.label!r} holds real values (mean {mean:.4g}, std {std:.4g}): "
            "regression (linear output scaled to the label, mean squared error)."
        )
    model = keras.Model(inputs, outputs, name="default_model")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=metrics)
    if print_fn is not None:
        print_fn(said)
    return model


def _feature_inputs(data: GrowingDataCallback, x) -> tuple:
    """The model's inputs and its first hidden tensor, for a matrix `x` or a dict of columns.

    Numeric columns are scaled by a `Normalization` layer. A string column,
    served as ids (`strings_as="index"`), goes through an `Embedding` with
    room for new strings: ids past its room share its last row.
    """
    if not isinstance(x, dict):
        inputs = keras.Input((x.shape[1],), name="features")
        return inputs, keras.layers.Normalization(mean=x.mean(axis=0), variance=_variance(x))(inputs)
    if any(data.schema[name] == "string" for name in x):
        _require_ids(data)
    inputs, numbers, parts = {}, [], []
    for name, values in x.items():
        string = data.schema[name] == "string"
        # Ids enter as int32 and int64 numbers as float32, which every backend keeps: Keras 3.15.1
        # converts each input to its `Input`'s dtype (`Functional._standardize_inputs`), and on JAX
        # (without `jax_enable_x64`) an int64 `Input` warns "Explicitly requested dtype int64 ...
        # will be truncated to dtype int32" at every trace. A vocabulary's ids are int32 when stored.
        inputs[name] = keras.Input((), name=name, dtype="int32" if string else "float32")
        if string:
            rows = _capacity(len(data.vocabulary(name)))
            ids = keras.ops.minimum(inputs[name], rows - 1)
            parts.append(keras.layers.Embedding(rows, 8, name=f"embed_{name}")(ids))
        else:
            numbers.append((keras.ops.expand_dims(inputs[name], 1), values))
    if numbers:
        stacked = np.stack([values.astype("float32") for _, values in numbers], axis=1)
        joined = keras.layers.Concatenate()([t for t, _ in numbers]) if len(numbers) > 1 else numbers[0][0]
        parts.insert(
            0, keras.layers.Normalization(mean=stacked.mean(axis=0), variance=_variance(stacked))(joined)
        )
    return inputs, keras.layers.Concatenate()(parts) if len(parts) > 1 else parts[0]


def _variance(x: np.ndarray) -> np.ndarray:
    variance = x.var(axis=0)
    variance[variance < 1e-12] = 1.0  # Constant so far: centre, do not blow up.
    return variance


def _capacity(strings: int) -> int:
    """Ids to make room for, when a column holds `strings` now (the unknown id included)."""
    return max(2 * strings, strings + 16)


def _require_ids(data: GrowingDataCallback) -> None:
    if data.strings_as != "index":
        raise ValueError(
            'default_model needs string columns served as ids: GrowingDataCallback(..., strings_as="index").'
        )


def _sample(data: GrowingDataCallback, rows: int) -> tuple:
    """The first `rows` accepted rows as numpy arrays `(x, y)`; `x` a dict for dict features."""
    xs, ys, seen = [], [], 0
    for x, y in data.build_dataset(shuffle=False):
        xs.append({k: v.numpy() for k, v in x.items()} if isinstance(x, dict) else x.numpy())
        ys.append(y.numpy())
        seen += len(ys[-1])
        if seen >= rows:
            break
    y = np.concatenate(ys)[:rows]
    if isinstance(xs[0], dict):
        return {k: np.concatenate([part[k] for part in xs])[:rows] for k in xs[0]}, y
    return np.concatenate(xs)[:rows], y
