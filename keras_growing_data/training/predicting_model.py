"""A model that takes raw column values by name, made from one trained on a callback's batches."""

import functools

import keras

from keras_growing_data.training.raw_columns import RawColumns


def predicting_model(model: keras.Model, raw_columns: RawColumns) -> keras.Model:
    """`model` behind Keras layers that serve raw column values as its training batches were served.

    The model made has one input per feature column, named as the column,
    of shape `[rows]`: float32, int64, or a string (`tf.string`) for a
    string column. Its layers apply the ingest's rules, then call `model`
    on `x` as the batches served it (a matrix or a dict): a float NaN is
    missing, and so is a string that is exactly one of the missing-value
    spellings (`""`, `"NA"`, ...); a missing value takes its column's
    default. A string column served as ids (`strings_as="index"`) goes
    through a `StringLookup` that holds its vocabulary as of now, so each
    string takes the id it was served as, and a string the vocabulary does
    not hold id 0 (unknown). A row the ingest would reject (a missing
    value without a default, an infinite float) predicts NaN in every
    float output. `encode` says why, in words.

    Only Keras's own layers and ops are used, so the model saved as
    `.keras` loads with `keras.saving.load_model` in a process that does
    not import this package. It shares `model`'s weights. It is built on
    any backend; with string inputs it predicts on TensorFlow only (on JAX
    and PyTorch, predict with `model.predict(data.encode(rows))`, or load
    the saved file where Keras runs on TensorFlow).

    Example:

    ```python
    predicting = predicting_model(model, raw_columns)
    predicting.save("model.keras")
    keras.saving.load_model("model.keras").predict(
        {"city": np.array(["Oslo", ""], dtype=object), "area": np.array([20.5, np.nan])}
    )
    ```

    Args:
        model: a model trained on the batches `raw_columns` describes.
        raw_columns: the schema, missing-value rules, defaults and
            vocabularies of the callback that served the batches.

    Returns:
        A `keras.Model` from a dict of raw columns to `model`'s outputs.
    """
    dtypes = raw_columns.schema.dtypes
    inputs, served, rejected = {}, {}, []
    for name in raw_columns.features:
        # Keras refuses "/" in a layer's name; the dict key keeps the column's.
        layer_name = name.replace("/", "_")
        inputs[name] = keras.Input((), name=layer_name, dtype=dtypes[name])
        if dtypes[name] == "string":
            served[name], bad = _string_column(name, inputs[name], raw_columns, layer_name)
        elif dtypes[name] == "float32":
            served[name], bad = _float32_column(name, inputs[name], raw_columns)
        else:
            served[name], bad = inputs[name], None  # An int64 tensor has no missing values.
        if bad is not None:
            rejected.append(bad)
    if raw_columns.matrix:
        x = keras.ops.stack([keras.ops.cast(served[name], "float32") for name in served], axis=1)
    else:
        x = served
    outputs = model(x)
    if rejected:
        any_rejected = functools.reduce(keras.ops.logical_or, rejected)
        outputs = keras.tree.map_structure(functools.partial(_nan_where, any_rejected), outputs)
    return keras.Model(inputs, outputs, name=f"{model.name}_on_raw_values")


def _float32_column(name: str, value, raw_columns: RawColumns) -> tuple:
    """A float32 input with NaN (missing) filled by the default; and which rows the ingest would reject."""
    missing = keras.ops.isnan(value)
    bad = keras.ops.isinf(value)
    if name not in raw_columns.defaults:
        return value, keras.ops.logical_or(bad, missing)
    return keras.ops.where(missing, float(raw_columns.defaults[name]), value), bad


def _string_column(name: str, value, raw_columns: RawColumns, layer_name: str) -> tuple:
    """A string input with missing spellings filled by the default, as served; and the rows rejected."""
    # A vocabulary given as a list is kept in the layer's config (Keras 3.15,
    # `IndexLookup.get_config`), as JSON: any string comes back as it was.
    spellings = keras.layers.StringLookup(
        vocabulary=sorted(raw_columns.na_values), mask_token=None, name=f"{layer_name}_missing_values"
    )(value)
    missing = keras.ops.greater(spellings, 0)
    bad = None
    if name in raw_columns.defaults:
        value = keras.ops.where(missing, raw_columns.defaults[name], value)
    else:
        bad = missing
    if raw_columns.strings_as == "string":
        return value, bad
    strings = raw_columns.vocabularies[name][1:]  # Item 0 is "[UNK]", StringLookup's out-of-vocabulary id.
    if not strings:  # StringLookup refuses an empty vocabulary: every string is unknown.
        return keras.ops.zeros_like(spellings), bad
    lookup = keras.layers.StringLookup(vocabulary=strings, mask_token=None, name=f"{layer_name}_vocabulary")
    return lookup(value), bad


def _nan_where(rejected, output):
    """`output` with NaN in the rows that are `rejected`, if it holds floats."""
    if not keras.backend.is_float_dtype(output.dtype):
        return output
    rows = keras.ops.reshape(rejected, (-1,) + (1,) * (len(output.shape) - 1))
    return keras.ops.where(rows, float("nan"), output)
