"""Data loading: pyarrow CSV/Parquet -> tensors, and every bad-data error names column and row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from arcgraph.training.data import load_dataset
from arcgraph.training.errors import DataError
from arcgraph.training.losses import parse_loss

from .conftest import BREAST_CANCER, IRIS

CPU = torch.device("cpu")


def model(
    columns: list[str], loss: str = "mse_loss", target: str = "t", dtype: str = "float32"
) -> dict[str, Any]:
    return {
        "inputs": {"x": {"dtype": dtype, "shape": [None, len(columns)], "columns": columns}},
        "graph": [
            {
                "name": "l",
                "type": "torch.nn.Linear",
                "params": {"in_features": len(columns), "out_features": 1},
                "inputs": {"input": "x"},
            }
        ],
        "outputs": {"p": "l.output"},
        "loss": {"type": f"torch.nn.functional.{loss}", "inputs": {"input": "p", "target": target}},
    }


def load(path: Path, spec: dict[str, Any], target: str = "t"):
    return load_dataset(path, spec, target, parse_loss(spec, CPU))


def csv(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "d.csv"
    p.write_text(text)
    return p


def error(path: Path, spec: dict[str, Any], target: str = "t") -> str:
    with pytest.raises(DataError) as info:
        load(path, spec, target)
    return str(info.value)


def test_breast_cancer_to_float_tensors() -> None:
    cols = BREAST_CANCER.read_text().splitlines()[0].split(",")[:-1]
    ds = load(BREAST_CANCER, model(cols, "binary_cross_entropy", "diagnosis"), "diagnosis")
    assert ds.n_rows == 569
    x = ds.inputs["x"]
    assert (x.dtype, tuple(x.shape), x.is_contiguous()) == (torch.float32, (569, 30), True)
    assert x[0, :3].tolist() == pytest.approx([17.99, 10.38, 122.8])
    assert (ds.target.dtype, int(ds.target.sum())) == (torch.float32, 357)
    assert ds.labels is None
    assert len(ds.fingerprint["sha256"]) == 64


def test_iris_string_labels_become_sorted_class_indices() -> None:
    cols = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    ds = load(IRIS, model(cols, "cross_entropy", "species"), "species")
    assert ds.labels == ["setosa", "versicolor", "virginica"]
    assert ds.target.dtype == torch.int64
    assert torch.bincount(ds.target).tolist() == [50, 50, 50]
    assert ds.target[[0, 50, 100]].tolist() == [0, 1, 2]


def test_parquet_reads_the_same_as_csv(tmp_path: Path) -> None:
    from pyarrow import csv as pacsv

    pq.write_table(pacsv.read_csv(IRIS), tmp_path / "iris.parquet")
    cols = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    spec = model(cols, "cross_entropy", "species")
    a, b = load(IRIS, spec, "species"), load(tmp_path / "iris.parquet", spec, "species")
    assert torch.equal(a.inputs["x"], b.inputs["x"]) and torch.equal(a.target, b.target)


def test_parquet_list_column_fills_a_sequence_input(tmp_path: Path) -> None:
    pq.write_table(pa.table({"seq": [[1, 2, 3], [4, 5, 6]], "t": [0, 1]}), tmp_path / "s.parquet")
    spec = model(["seq"], "cross_entropy", dtype="int64")
    spec["inputs"]["x"]["shape"] = [None, 3]
    ds = load(tmp_path / "s.parquet", spec)
    assert ds.inputs["x"].tolist() == [[1, 2, 3], [4, 5, 6]]


def test_missing_column(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,2\n")
    assert (
        error(p, model(["a", "b"]))
        == "column 'b' (input 'x') is not in d.csv; its columns are: a, t"
    )


def test_missing_target(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,b\n1,2\n")
    assert (
        error(p, model(["a"])) == "column 't' (the target) is not in d.csv; its columns are: a, b"
    )


def test_non_numeric_value_names_column_row_and_line(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,2\n3,4\nabc,5\n")
    assert error(p, model(["a"])) == "column 'a': non-numeric value 'abc' in row 3 (line 4)"


def test_non_numeric_target_for_regression(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,2\n3,high\n")
    assert error(p, model(["a"])) == "column 't': non-numeric value 'high' in row 2 (line 3)"


def test_empty_cell(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,2\n,4\n")
    assert error(p, model(["a"])) == "column 'a': empty cell in row 2 (line 3)"


def test_nan_cell(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,2\n2,4\nnan,1\n")
    assert error(p, model(["a"])) == "column 'a': nan (not a finite number) in row 3 (line 4)"


def test_column_both_feature_and_target(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,2\n")
    assert error(p, model(["a", "t"])) == "column 't' is both a feature (input 'x') and the target"


def test_fractional_value_in_integer_input(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,2\n2.5,4\n")
    assert error(p, model(["a"], dtype="int64")) == (
        "column 'a': 2.5 in row 2 (line 3) is not an integer (the input is int64)"
    )


def test_bce_target_out_of_range(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,0\n2,1\n3,2\n")
    assert error(p, model(["a"], "binary_cross_entropy")) == (
        "column 't': torch.nn.functional.binary_cross_entropy needs targets in [0, 1], found 2 in row 3 (line 4)"
    )


def test_bce_string_labels_need_two_classes(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,x\n2,y\n3,z\n")
    assert error(p, model(["a"], "binary_cross_entropy")) == (
        "column 't': torch.nn.functional.binary_cross_entropy needs two classes, found 3: 'x', 'y', 'z'"
    )


def test_no_rows(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n")
    assert error(p, model(["a"])) == "d.csv has no data rows"


def test_unsupported_format(tmp_path: Path) -> None:
    p = tmp_path / "d.json"
    p.write_text("{}")
    assert error(p, model(["a"])) == "d.json: unsupported data format; use .csv, .tsv or .parquet"


def test_na_text_is_non_numeric_not_empty(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,2\nNA,4\n")
    assert error(p, model(["a"])) == "column 'a': non-numeric value 'NA' in row 2 (line 3)"


def _iris_with(tmp_path: Path, row: int, column: str, value: str) -> Path:
    """The real iris table with one cell replaced (`row` counts data rows from 1)."""
    lines = IRIS.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    p = tmp_path / "iris.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.mark.parametrize(
    ("value", "dtype", "shown", "limit", "hint"),
    [
        ("1e300", "float32", "1e+300", "at most 3.40282e+38 in magnitude", " or declare input 'x' as dtype float64"),
        ("-1e39", "float32", "-1e+39", "at most 3.40282e+38 in magnitude", " or declare input 'x' as dtype float64"),
        ("70000", "float16", "70000", "at most 65504 in magnitude", " or declare input 'x' as dtype float64"),
        ("1e300", "float64", None, None, None),
    ],
)  # fmt: skip
def test_a_value_the_input_dtype_cannot_hold_is_refused_with_column_and_row(
    tmp_path: Path, value: str, dtype: str, shown: str | None, limit: str | None, hint: str | None
) -> None:
    """1e300 in a float32 column became inf in the cast; training then failed as a non-finite
    loss, naming neither the column nor the row."""
    p = _iris_with(tmp_path, 10, "sepal_width", value)
    spec = model(IRIS_COLUMNS, "cross_entropy", "species", dtype=dtype)
    if shown is None:  # float64 holds it: read as it is
        assert load(p, spec, "species").inputs["x"][9, 1].item() == 1e300
        return
    assert error(p, spec, "species") == (
        f"column 'sepal_width': {shown} in row 10 (line 11) does not fit in {dtype} ({limit}); "
        f"rescale the column{hint}"
    )


def test_a_regression_target_too_large_for_float32(tmp_path: Path) -> None:
    p = _iris_with(tmp_path, 3, "petal_width", "2e40")
    spec = model(["sepal_length"], target="petal_width")
    assert error(p, spec, "petal_width") == (
        "column 'petal_width': 2e+40 in row 3 (line 4) does not fit in float32 "
        "(at most 3.40282e+38 in magnitude); rescale the column"
    )


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_non_finite_literals_are_refused(tmp_path: Path, value: str) -> None:
    p = _iris_with(tmp_path, 7, "petal_length", value)
    spec = model(IRIS_COLUMNS, "cross_entropy", "species")
    assert error(p, spec, "species") == (
        f"column 'petal_length': {value} (not a finite number) in row 7 (line 8)"
    )


def test_header_that_is_not_utf8_names_the_column(tmp_path: Path) -> None:
    """pyarrow decodes header names lazily: a Latin-1 'é' ended in a UnicodeDecodeError
    traceback from `table.column_names`."""
    data = IRIS.read_bytes().replace(b"petal_width", b"p\xe9tal_width", 1)
    p = tmp_path / "iris.csv"
    p.write_bytes(data)
    assert error(p, model(IRIS_COLUMNS, "cross_entropy", "species"), "species") == (
        "iris.csv: line 1 (the header), column 4 name 'p\ufffdtal_width' is not valid UTF-8 "
        "(byte 0xe9 at position 2); save the file as UTF-8"
    )


def test_an_integer_that_int32_cannot_hold_is_refused_not_wrapped(tmp_path: Path) -> None:
    p = csv(tmp_path, "a,t\n1,2\n3000000000,4\n")
    assert error(p, model(["a"], dtype="int32")) == (
        "column 'a': 3000000000 in row 2 (line 3) does not fit in int32 "
        "(from -2147483648 to 2147483647); rescale the column or declare input 'x' as dtype int64"
    )


def test_a_bad_value_in_a_list_column_names_its_row_not_its_element(tmp_path: Path) -> None:
    table = pa.table({"seq": [[1.0, 2.0, 3.0], [4.0, 1e300, 6.0]], "t": [0, 1]})
    pq.write_table(table, tmp_path / "s.parquet")
    spec = model(["seq"], "cross_entropy")
    spec["inputs"]["x"]["shape"] = [None, 3]
    assert error(tmp_path / "s.parquet", spec) == (
        "column 'seq': 1e+300 in row 2 does not fit in float32 (at most 3.40282e+38 in "
        "magnitude); rescale the column or declare input 'x' as dtype float64"
    )
