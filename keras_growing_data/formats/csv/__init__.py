"""The CSV format (`CsvFormat`) and the modules only it needs: header, chunks of lines, parsers, checks."""
