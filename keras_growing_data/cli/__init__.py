"""The command line: status, train and demo, on top of the library (never imported by it)."""
