"""The CSV format and the modules only it needs."""
