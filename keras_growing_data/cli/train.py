"""`keras-growing-data train`: a default dense network on a watched folder."""

import argparse
import os

import keras

from keras_growing_data.cli.exit_codes import EXIT_OK
from keras_growing_data.sources.watcher import DEFAULT_PATTERNS
from keras_growing_data.sources.window import Window
from keras_growing_data.training.callback import GrowingDataCallback
from keras_growing_data.training.default_model import default_model
from keras_growing_data.training.growth_printer import GrowthPrinter
from keras_growing_data.training.plot import save_plot
from keras_growing_data.training.stop_when_idle import StopWhenIdle
from keras_growing_data.training.summary_table import summary_table
from keras_growing_data.training.trainer import GrowingDatasetTrainer


def run(args: argparse.Namespace) -> int:
    """Trains the default model on `args.folder`; returns the exit code."""
    # The default model takes string columns as ids, into embeddings with room for new strings.
    pattern = args.pattern or DEFAULT_PATTERNS
    options = {
        "pattern": pattern,
        "settle_seconds": args.settle_seconds,
        "recursive": args.recursive,
        "partition_columns": args.partition_columns,
        "strings_as": "index",
    }
    window = None
    if (args.window_files, args.window_rows, args.window_seconds) != (None, None, None):
        window = Window(rows=args.window_rows, files=args.window_files, seconds=args.window_seconds)
    data = GrowingDataCallback(
        args.folder,
        args.label,
        batch_size=args.batch_size,
        seed=args.seed,
        appends=args.appends,
        window=window,
        **options,
    )
    validation = None
    if args.validation_folder:
        validation = GrowingDataCallback(args.validation_folder, args.label, args.batch_size, **options)
    where = f"{args.folder} and its sub-folders" if args.recursive else args.folder
    print(f"Watching {where} for {' '.join(pattern)} files with label column {args.label!r}.")
    data.poll()
    if args.wait_for_data > 0 and data.num_rows == 0:
        print(f"Waiting up to {args.wait_for_data:g} s for the first file in {args.folder}...")
    data.wait_for_rows(args.wait_for_data)
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    model = default_model(data, task=args.task)
    callbacks = [GrowthPrinter(data)]
    if args.stop_after_idle is not None or args.stop_after_idle_seconds is not None:
        callbacks.append(StopWhenIdle(args.stop_after_idle, args.stop_after_idle_seconds))
    history = GrowingDatasetTrainer(model, data).fit(
        epochs=args.epochs, callbacks=callbacks, validation_data=validation, verbose=args.verbose
    )
    print(summary_table(history))
    if args.save:
        # Saved to take raw column values by name, strings as strings: `load_model` alone predicts.
        data.predicting_model(model).save(args.save)
        print(f"Saved the model to {os.path.abspath(args.save)}")
    if args.plot:
        save_plot(history, args.plot)
    return EXIT_OK
