"""Which files are data tables: the one list the trainer reads, the server offers and the
client searches for (the server sends it in `initialize`: `experimental.arcgraph.dataSuffixes`).

Torch-free and pyarrow-free, so the engine, the language server and the trainer share it.
"""

from __future__ import annotations

from pathlib import PurePath

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")  # read with pyarrow's CSV reader (`.tsv`: tabs)
PARQUET_SUFFIXES = (".parquet", ".pq")
DATA_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES


def is_data_file(path: str | PurePath) -> bool:
    return PurePath(path).name.lower().endswith(DATA_SUFFIXES)
