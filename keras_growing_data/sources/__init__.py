"""Folder -> accepted rows, without Keras: watcher, records, manifest, tails, ingest (read by `formats`)."""
