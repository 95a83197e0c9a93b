"""Benchmarks of keras_growing_data against the usual alternatives, side by side.

Run from the repository root, `python -m benchmarks [--smoke] [--out FILE] [--sections N ...]`.
It writes its own CSV files into a temporary folder (11 float32 columns `c0..c10` written with NumPy's "%.7g",
label `c10`), so it needs no network, and prints one markdown table. Within a section every
alternative runs in the same process, alternating between them over the repetitions (in reverse
order every other time), and the table reports medians: drift of the machine hits all
alternatives alike.

One module per section, in the table's order: `ingest`, `epochs`, `stall`, `arrivals`, `memory`,
`storage`, `command_line`, `typed`, `soak`, `big_file`, `backends` (one fresh process per Keras
backend installed), `producers`, `recent_data`, `json_lines`; each says what it measures and why (the
`*_probe` modules run in a fresh process, for clean memory figures). `harness` holds what they share
(sizes, rows, alternatives, timing, the report), `fixtures` the data and the model.

`hostile_soak` is not a section: `python -m benchmarks.hostile_soak [--epochs N] [--smoke]` trains
10,000 epochs (hours) on a rotating tailed log, date folders, a window, a disk store and `state_dir`,
with SIGKILLs, and checks each epoch's rows exactly and that open files, maps, memory and disk stay
flat (modules `hostile_soak*`).

`--smoke` shrinks every size so that the run takes seconds: CI checks that it runs; timings at
that size mean nothing.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Before any module here imports TensorFlow.
