"""Storage layer of modellake: typed records, the SQLite catalog, lake files."""
