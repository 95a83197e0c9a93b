"""`python -m keras_growing_data`: the command line (see `keras_growing_data.cli`)."""

import sys

from keras_growing_data.cli.main import main

sys.exit(main())
