"""The Keras side: the callback that serves a growing folder, the trainer of its epochs, callbacks."""
