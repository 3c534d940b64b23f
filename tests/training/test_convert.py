"""`arcgraph convert data.csv data.parquet`: the same values as the CSV, bounded batches, a
located error and no output file for a broken CSV."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from arcgraph.cli import main
from arcgraph.training.convert import convert_csv
from arcgraph.training.errors import DataError

from .conftest import BREAST_CANCER, IRIS


@pytest.mark.parametrize("source", [IRIS, BREAST_CANCER], ids=["iris", "breast_cancer"])
def test_convert_round_trips_a_csv(tmp_path: Path, source: Path, capsys) -> None:
    target = tmp_path / "out.parquet"
    assert main(["convert", str(source), str(target)]) == 0
    expected = pacsv.read_csv(source)
    assert capsys.readouterr().out == f"{target}: {expected.num_rows} rows\n"
    got = pq.read_table(target)
    assert got.schema == expected.schema
    assert got.to_pydict() == expected.to_pydict()
    assert list(tmp_path.iterdir()) == [target]  # no temp file left


def test_a_broken_csv_is_refused_with_its_line_and_no_output(tmp_path: Path, capsys) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("a,b\n1,2\n3,4\n5,6,7\n8,9\n")
    target = tmp_path / "bad.parquet"
    assert main(["convert", str(source), str(target)]) == 1
    assert capsys.readouterr().err == (
        f"arcgraph convert: error: {source}: line 4: CSV parse error: Row #4: Expected 2 "
        "columns, got 3: 5,6,7; fix the file and convert again\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_wrong_suffixes_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"out\.csv: the output must end in \.parquet or \.pq"):
        convert_csv(IRIS, tmp_path / "out.csv")
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        convert_csv(tmp_path / "nope.csv", tmp_path / "out.parquet")
