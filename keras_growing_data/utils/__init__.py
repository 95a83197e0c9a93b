"""Small helpers every stage may use: argument checks, process memory, TensorFlow's log lines."""
