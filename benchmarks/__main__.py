"""`python -m benchmarks [--smoke] [--out FILE]`: see `benchmarks/run.py`."""

from benchmarks import run

run.main()
