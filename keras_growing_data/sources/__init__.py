"""Folder -> accepted rows, without Keras: watcher, CSV reader and parsers, records, manifest, ingest."""
