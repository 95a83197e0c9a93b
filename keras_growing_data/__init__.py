"""Train Keras models on a folder of CSV files that keeps growing."""

from keras_growing_data.callback import GrowingDataCallback
from keras_growing_data.ingest import AcceptedFile, EpochLineage, RejectedFile
from keras_growing_data.plot import plot_growth
from keras_growing_data.trainer import GrowingDatasetTrainer
from keras_growing_data.workers import MultiWorkerTrainer, WorkerDataCallback

__version__ = "0.1.0"

__all__ = [
    "AcceptedFile",
    "EpochLineage",
    "GrowingDataCallback",
    "GrowingDatasetTrainer",
    "MultiWorkerTrainer",
    "RejectedFile",
    "WorkerDataCallback",
    "plot_growth",
]
