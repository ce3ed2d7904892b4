"""File input and output: the only place polars touches files (tables on disk, TOML, cell parsers)."""

from riskgpu.io.tables import TableError, read_table, read_toml, write_table

__all__ = ["TableError", "read_table", "read_toml", "write_table"]
