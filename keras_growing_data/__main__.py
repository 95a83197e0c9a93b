"""Command line: `python -m keras_growing_data demo`."""

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="keras-growing-data", description="Train Keras models on a growing folder of CSV files."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train a small model while a producer drops CSV files")
    demo.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_growing_data.demo import run_demo

    run_demo(epochs=args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
