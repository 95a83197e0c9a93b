"""Turns stored rows into the `(x, y)` batches a Keras model takes."""

from collections.abc import Mapping, Sequence

import keras
import tensorflow as tf

from keras_growing_data.formats.schema import Schema
from keras_growing_data.utils.arguments import check_choice


class KerasBatches:
    """What `x` and `y` look like, from the schema and the `label`, `features` and `strings_as` arguments.

    `x` is a float32 matrix `[batch, features]` (`features="matrix"`, or
    `"auto"` when every feature is float32), or else a dict column name ->
    `[batch]` tensor. `y` follows Keras: a column name gives `[batch]`, a
    list of names one `[batch, names]` tensor, a dict output name -> name(s)
    a dict of those. A string column is served as `tf.string`, or with
    `strings_as="index"` as its int64 ids (0 for unknown).

    Example:

    >>> batches = KerasBatches(schema, label="price", features="auto", strings_as="string")
    >>> x, y = batches.transform({"city": ["[UNK]", "Austin"]})(stored_batch)

    Args:
        schema: the schema in force.
        label: the `label` argument of `GrowingDataCallback`.
        features: `"auto"`, `"dict"` or `"matrix"`.
        strings_as: `"string"` or `"index"`.

    Raises:
        ValueError: `features="matrix"` with a string feature, or a list of
            labels that mixes string and number columns.
    """

    def __init__(self, schema: Schema, label, features: str = "auto", strings_as: str = "string"):
        self.schema = schema
        self.label = label
        self.features = check_choice("features", features, ("auto", "dict", "matrix"))
        self.strings_as = check_choice("strings_as", strings_as, ("string", "index"))
        dtypes = schema.dtypes
        strings = [name for name in schema.features if dtypes[name] == "string"]
        if features == "matrix" and strings:
            raise ValueError(
                f'features="matrix" needs numeric features, but {strings} are string columns; '
                'use features="dict" (or "auto")'
            )
        self.matrix = features == "matrix" or (
            features == "auto" and all(dtypes[name] == "float32" for name in schema.features)
        )
        self.served_strings = [name for name in schema.features + schema.labels if dtypes[name] == "string"]
        for names in _label_lists(label):
            kinds = {dtypes[name] == "string" for name in names}
            if len(kinds) > 1:
                raise ValueError(
                    f"the labels {names} mix string and number columns, which cannot be one tensor; "
                    "give them as a dict of outputs instead"
                )

    def require_backend_support(self) -> None:
        """Raises `ValueError` if batches hold `tf.string`s and Keras does not run on TensorFlow.

        Keras's `tf.data` adapter turns each batch into NumPy arrays for JAX
        and PyTorch, which have no string tensors; a `tf.string` feature can
        still feed a `tf.data` preprocessing step (`FeatureSpace`) there.
        """
        backend = keras.backend.backend()
        if self.strings_as == "string" and self.served_strings and backend != "tensorflow":
            raise ValueError(
                f"The string columns {self.served_strings} are served as tf.string, which only Keras's "
                f"TensorFlow backend takes, and this process runs Keras on {backend!r}. Pass "
                'strings_as="index" to serve each string as its int64 id (see vocabulary()), '
                "e.g. into keras.layers.Embedding, or run on KERAS_BACKEND=tensorflow."
            )

    def transform(
        self, vocabularies: Mapping[str, Sequence[str]], served_ids: Mapping[str, Sequence[int]] | None = None
    ):
        """The function from a stored batch (a dict of arrays by type) to `x` or `(x, y)`.

        Args:
            vocabularies: each string column's strings now (item i is id i).
            served_ids: per string column, the id served for each stored id
                (for a validation folder: the training data's ids); `None`
                serves the stored ids.
        """
        schema = self.schema
        if self.strings_as == "string":
            lookups = {name: tf.constant(list(strings), tf.string) for name, strings in vocabularies.items()}
        else:
            lookups = {name: tf.constant(list(ids), tf.int64) for name, ids in (served_ids or {}).items()}
        slots = {name: schema.slot(name) for name in schema.names}
        float_features = sum(slots[name][0] == "float32" for name in schema.features)
        all_float = float_features == len(schema.features)

        def column(batch, name):
            dtype, j = slots[name]
            values = batch[dtype][:, j]
            if dtype != "string":
                return values
            if name in lookups:
                return tf.gather(lookups[name], values)
            return tf.cast(values, tf.int64)

        def stacked(batch, names):
            values = [column(batch, name) for name in names]
            if len({v.dtype for v in values}) > 1:
                values = [tf.cast(v, tf.float32) for v in values]
            return tf.stack(values, axis=1)

        def target(batch, label):
            return column(batch, label) if isinstance(label, str) else stacked(batch, list(label))

        def x_of(batch):
            if self.matrix and all_float:
                # Features come first in the float32 array: a slice, no gather.
                return batch["float32"][:, :float_features]
            if self.matrix:
                return tf.cast(stacked(batch, schema.features), tf.float32)
            return {name: column(batch, name) for name in schema.features}

        def split(batch):
            x = x_of(batch)
            if self.label is None:
                return x
            if isinstance(self.label, Mapping):
                return x, {output: target(batch, label) for output, label in self.label.items()}
            return x, target(batch, self.label)

        return split


def _label_lists(label) -> list[list[str]]:
    """The groups of label columns that are served as one tensor each."""
    if label is None or isinstance(label, str):
        return []
    if isinstance(label, Mapping):
        return [list(names) for names in label.values() if not isinstance(names, str)]
    return [list(label)]
