"""The `(x, y)` datasets a callback serves: built once per state of the rows, padded while asked."""

import tensorflow as tf

from keras_growing_data.sources.ingest import FolderIngest
from keras_growing_data.training.keras_batches import KerasBatches
from keras_growing_data.training.padded_batches import padded_batches


class ServedBatches:
    """Builds the datasets of an ingest's rows as `KerasBatches` says, and keeps them until rows join.

    Building a dataset traces its functions (tens of milliseconds), so one
    is built per state of the rows and shuffle, and reused until new rows
    join. A validation folder serves string ids as its training folder
    gave them (`ids_of`). While `padding` is set (by a trainer), the
    datasets given to `model.fit` are padded (`padded_batches`).

    Example:

    >>> served = ServedBatches(ingest, 64, label="price", features="auto", strings_as="string")
    >>> dataset = served.dataset(shuffle=True)

    Args:
        ingest: the rows.
        batch_size: rows per batch.
        label, features, strings_as: what `x` and `y` look like (see
            `KerasBatches`, made once the ingest has a schema).
    """

    def __init__(self, ingest: FolderIngest, batch_size: int, label, features: str, strings_as: str):
        self.ingest = ingest
        self.batch_size = batch_size
        self.label = label
        self.features = features
        self.strings_as = strings_as
        self.ids_of = None  # The training folder's callback, whose string ids a validation folder serves.
        self.padding = None  # (class_weight,) while a trainer pads the batches.
        self._keras_batches = None
        self._built = None
        self._padded = None

    def keras_batches(self) -> KerasBatches:
        """What `x` and `y` look like: made at the first call, which fails if the schema cannot be served."""
        if self._keras_batches is None:
            self._keras_batches = KerasBatches(self.ingest.schema, self.label, self.features, self.strings_as)
        return self._keras_batches

    def dataset(self, shuffle: bool) -> tf.data.Dataset:
        """Batches of every row accepted now, built when the rows (or the training folder's) changed."""
        training = self.ids_of
        key = (self.ingest.rows_version, shuffle, training and training.ingest.rows_version)
        if self._built is None or self._built[0] != key:
            vocabularies = {name: self.ingest.vocabulary(name) for name in self.ingest.vocabularies}
            served = None if training is None else training.ids_for(vocabularies)
            transform = self.keras_batches().transform(vocabularies, served)
            self._built = (key, self.ingest.dataset(self.batch_size, shuffle, transform=transform))
        return self._built[1]

    def ids_for(self, vocabularies: dict[str, list[str]]) -> dict[str, list[int]]:
        """Per column, this folder's id of each string of `vocabularies` (0 if it has none)."""
        known = {name: {s: i for i, s in enumerate(self.ingest.vocabulary(name))} for name in vocabularies}
        return {name: [known[name].get(s, 0) for s in strings] for name, strings in vocabularies.items()}

    def fit_input(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        """The dataset, padded while `padding` is set."""
        if self.padding is None:
            return dataset
        if self._padded is None or self._padded[0] is not dataset:
            self._padded = (dataset, padded_batches(dataset, self.batch_size, *self.padding))
        return self._padded[1]

    def stop_padding(self) -> None:
        self.padding = self._padded = None
