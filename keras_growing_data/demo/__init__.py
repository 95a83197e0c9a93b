"""A self-contained demo: a producer drops CSV files while a model trains.

`run_demo()` (in `run_demo.py`) is what `python -m keras_growing_data demo` runs. With
scikit-learn installed (`pip install "keras-growing-data[demo]"`) the files
hold scikit-learn's bundled copy of the UCI handwritten digits (1,797 rows of
8x8 pixel values, label `digit`; read from the package, no download).
Without it they hold rows of the synthetic generator `synthetic_data`.
"""
