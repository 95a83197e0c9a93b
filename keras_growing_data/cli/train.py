"""`keras-growing-data train`: a default dense network on a watched folder."""

import argparse
import os

import keras

from keras_growing_data.cli.exit_codes import EXIT_OK
from keras_growing_data.cli.reading_options import callback_options
from keras_growing_data.training.callback import GrowingDataCallback
from keras_growing_data.training.default_model import default_model
from keras_growing_data.training.growth_printer import GrowthPrinter
from keras_growing_data.training.plot import save_plot
from keras_growing_data.training.stop_when_idle import StopWhenIdle
from keras_growing_data.training.summary_table import summary_table
from keras_growing_data.training.trainer import GrowingDatasetTrainer
from keras_growing_data.utils.printable import patterns_text


def run(args: argparse.Namespace) -> int:
    """Trains the default model on `args.folder`; returns the exit code."""
    options = callback_options(args)
    # The default model takes string columns as ids, into embeddings with room for new strings.
    options.setdefault("strings_as", "index")
    data = GrowingDataCallback(args.folder, **options)
    validation = None
    if args.validation_folder:
        # The same reading options; a state folder and a window belong to the training folder alone.
        validation = GrowingDataCallback(
            args.validation_folder,
            **{name: value for name, value in options.items() if name not in ("state_dir", "window")},
        )
    patterns = patterns_text(data.watcher.pattern)
    where = f"{args.folder} and its sub-folders" if data.watcher.recursive else args.folder
    print(f"Watching {where} for {patterns} files with label column {data.label!r}.")
    data.poll()
    if args.wait_for_data > 0 and data.num_rows == 0:
        print(f"Waiting up to {args.wait_for_data:g} s for the first file in {args.folder}...")
    data.wait_for_rows(args.wait_for_data)
    if data.seed is not None:
        keras.utils.set_random_seed(data.seed)
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
