"""`keras-growing-data demo`: the demo, run from the command line."""

import argparse

from keras_growing_data.cli.exit_codes import EXIT_OK
from keras_growing_data.demo.run_demo import DEFAULT_PLOT, run_demo


def run(args: argparse.Namespace) -> int:
    """Runs `keras-growing-data demo`; returns the exit code."""
    run_demo(
        epochs=args.epochs,
        out=args.out or DEFAULT_PLOT,
        folder=args.folder,
        label=args.label,
        source=args.data,
    )
    return EXIT_OK
