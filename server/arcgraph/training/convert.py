"""`arcgraph convert data.csv data.parquet`: a CSV table as Parquet, in bounded memory.

CSV is read whole into memory by the trainer; Parquet can be streamed (see
arcgraph.training.streaming). This converts one into the other with pyarrow's streaming CSV
reader (types inferred from the first block, as pyarrow does) and a ParquetWriter fed batch by
batch, so memory holds about one block and one row group, never the table. Row groups hold
about ROW_GROUP_MB of values, small enough for the streaming reader's bound. The output is
written to a temp file next to it and renamed into place: a failed conversion leaves no file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from arcgraph.engine.datafiles import CSV_SUFFIXES, PARQUET_SUFFIXES
from arcgraph.training.errors import DataError

ROW_GROUP_MB = 16
_BLOCK_BYTES = 4 << 20  # CSV bytes parsed at a time


def _row_group_rows(schema: pa.Schema) -> int:
    """Rows per row group: about ROW_GROUP_MB of values (strings counted as 16 bytes)."""
    width = sum(
        field.type.bit_width // 8 if pa.types.is_primitive(field.type) else 16 for field in schema
    )
    return max(1024, (ROW_GROUP_MB << 20) // max(1, width))


def convert_csv(source: str | Path, target: str | Path) -> int:
    """Write the CSV `source` as the Parquet file `target`; -> the rows written."""
    src, dst = Path(source), Path(target)
    if not src.name.lower().endswith(CSV_SUFFIXES):
        raise DataError(f"{src}: not a CSV file ({', '.join(CSV_SUFFIXES)})")
    if not dst.name.lower().endswith(PARQUET_SUFFIXES):
        raise DataError(f"{dst}: the output must end in {' or '.join(PARQUET_SUFFIXES)}")
    if not src.is_file():
        raise DataError(f"{src}: no such file")
    bad_line: list[int] = []

    def invalid_row(row: pacsv.InvalidRow) -> str:
        bad_line.append(row.number if row.number is not None else -1)
        return "error"

    parse = pacsv.ParseOptions(
        delimiter="\t" if src.name.lower().endswith(".tsv") else ",",
        invalid_row_handler=invalid_row,
    )
    convert = pacsv.ConvertOptions(null_values=[""], strings_can_be_null=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    rows = 0
    try:
        reader = pacsv.open_csv(
            src,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=_BLOCK_BYTES),
            parse_options=parse,
            convert_options=convert,
        )
        group = _row_group_rows(reader.schema)
        with pq.ParquetWriter(tmp, reader.schema) as writer:
            pending: list[pa.RecordBatch] = []
            held = 0
            for batch in reader:
                pending.append(batch)
                held += batch.num_rows
                rows += batch.num_rows
                if held >= group:
                    writer.write_table(pa.Table.from_batches(pending), row_group_size=group)
                    pending, held = [], 0
            if pending:
                writer.write_table(pa.Table.from_batches(pending), row_group_size=group)
        os.replace(tmp, dst)
    except pa.ArrowException as err:
        if bad_line and bad_line[0] > 0:
            where = f"line {bad_line[0]}"
        else:
            where = f"after line {rows + 1} (the rows before it converted)"
        raise DataError(f"{src}: {where}: {err}; fix the file and convert again") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return rows
