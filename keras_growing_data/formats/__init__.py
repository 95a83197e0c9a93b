"""File formats: how one file becomes typed columns."""
