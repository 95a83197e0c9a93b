"""The training-set policy that keeps every accepted file in training: the default."""

from keras_growing_data.sources.training_set import TrainingSetPolicy


class KeepEverything(TrainingSetPolicy):
    """Every accepted file trains in every epoch: the default policy.

    Example:

    >>> KeepEverything().files_leaving(files)
    ()
    """
