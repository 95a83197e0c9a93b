"""Train Keras models on a folder of CSV or JSON Lines files that keeps growing.

The public names load on first use, so that `import keras_growing_data`
(and the command line's `--help`) does not import TensorFlow, which takes
seconds.
"""

import importlib

__version__ = "0.1.0"

_MODULE_OF = {
    "AcceptedFile": "keras_growing_data.sources.records",
    "BadFileError": "keras_growing_data.errors",
    "BadValueError": "keras_growing_data.errors",
    "DamagedStateError": "keras_growing_data.errors",
    "EpochLineage": "keras_growing_data.sources.records",
    "GrowingDataCallback": "keras_growing_data.training.callback",
    "GrowingDataError": "keras_growing_data.errors",
    "GrowingDatasetTrainer": "keras_growing_data.training.trainer",
    "GrowthPrinter": "keras_growing_data.training.growth_printer",
    "MultiWorkerTrainer": "keras_growing_data.distribute.worker_trainer",
    "NoRowsError": "keras_growing_data.errors",
    "RejectedFile": "keras_growing_data.sources.records",
    "ResetBestOnGrowth": "keras_growing_data.training.reset_best_on_growth",
    "SnapshotError": "keras_growing_data.errors",
    "SnapshotTimeoutError": "keras_growing_data.errors",
    "StopWhenIdle": "keras_growing_data.training.stop_when_idle",
    "UnwritableStateError": "keras_growing_data.errors",
    "Window": "keras_growing_data.sources.window",
    "WorkerDataCallback": "keras_growing_data.distribute.worker_callback",
    "plot_growth": "keras_growing_data.training.plot",
    "summary_table": "keras_growing_data.training.summary_table",
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
