"""The Parquet format: `parquet_format.py` (`ParquetFormat`), with its footer checks (`footer.py`), how
Arrow's types map to the schema's (`arrow_types.py`), one column as a type's values (`arrow_values.py`)
and a file's rows, batch by batch (`batch_rows.py`)."""
