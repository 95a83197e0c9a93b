"""Accepted rows -> each epoch's dataset: the store interface and its memory and disk stores."""
