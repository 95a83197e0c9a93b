"""Train Keras models on a folder of CSV files that keeps growing.

The public names load on first use, so that `import keras_growing_data`
(and the command line's `--help`) does not import TensorFlow, which takes
seconds.
"""

import importlib

__version__ = "0.1.0"

_MODULE_OF = {
    "AcceptedFile": "keras_growing_data.ingest",
    "EpochLineage": "keras_growing_data.ingest",
    "GrowingDataCallback": "keras_growing_data.callback",
    "GrowingDatasetTrainer": "keras_growing_data.trainer",
    "MultiWorkerTrainer": "keras_growing_data.workers",
    "NoRowsError": "keras_growing_data.no_rows_error",
    "RejectedFile": "keras_growing_data.ingest",
    "StopWhenIdle": "keras_growing_data.stop_when_idle",
    "WorkerDataCallback": "keras_growing_data.workers",
    "plot_growth": "keras_growing_data.plot",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'keras_growing_data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})
