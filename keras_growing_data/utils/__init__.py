"""Small helpers every stage may use: argument checks, quoting, process memory, TensorFlow's log lines."""
