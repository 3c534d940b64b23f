"""`arcgraph format [--check] PATH...`: exit codes, files written atomically, read-only refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

UNORDERED = "config:\n  epochs: 3  # three\n# the model\nmodel_ref: m-v1\n"
ORDERED = "# the model\nmodel_ref: m-v1\nconfig:\n  epochs: 3  # three\n"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arcgraph", "format", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_exits_1_naming_the_file_then_format_fixes_it(tmp_path: Path) -> None:
    spec = tmp_path / "sub" / "a.trainer.yaml"
    spec.parent.mkdir()
    spec.write_text(UNORDERED)
    (tmp_path / "fine.trainer.yaml").write_text(ORDERED)
    (tmp_path / "other.yaml").write_text("z: 1\na: 2\n")  # not a spec: left alone
    checked = run("--check", tmp_path)
    assert (checked.returncode, checked.stdout) == (1, f"{spec}: would be reformatted\n")
    assert spec.read_text() == UNORDERED
    done = run(tmp_path)
    assert (done.returncode, done.stdout) == (0, f"{spec}: formatted\n")
    assert spec.read_text() == ORDERED
    assert (tmp_path / "other.yaml").read_text() == "z: 1\na: 2\n"
    assert sorted(p.name for p in spec.parent.iterdir()) == ["a.trainer.yaml"]  # no temp left
    again = run("--check", tmp_path)
    assert (again.returncode, again.stdout) == (0, "")


def test_yaml_error_is_reported_not_formatted(tmp_path: Path) -> None:
    spec = tmp_path / "bad.trainer.yaml"
    spec.write_text("model_ref: [open\n")
    out = run("--check", spec)
    assert out.returncode == 0
    assert "bad.trainer.yaml: not formatted: it has a YAML error" in out.stderr
    assert spec.read_text() == "model_ref: [open\n"


def test_read_only_file_is_a_clear_error(tmp_path: Path) -> None:
    spec = tmp_path / "ro.trainer.yaml"
    spec.write_text(UNORDERED)
    spec.chmod(0o444)
    out = run(spec)
    assert out.returncode == 2
    assert f"arcgraph format: {spec}: cannot write it: the file is read-only" in out.stderr
    assert spec.read_text() == UNORDERED


def test_missing_path_exits_2(tmp_path: Path) -> None:
    out = run(tmp_path / "nope.yaml")
    assert out.returncode == 2
    assert "no such file or folder" in out.stderr


def test_flow_collections_are_written_back_as_written(tmp_path: Path) -> None:
    spec = tmp_path / "flows.trainer.yaml"
    spec.write_text(
        "optimizer: { type: torch.optim.SGD,  lr: 0.1 }   # c\n"
        "model_ref: m-v1\n"
        "config:\n"
        "    callbacks_extra: [ a,\n"
        "                       'b' ]  # d\n"
    )
    done = run(spec)
    assert (done.returncode, done.stdout) == (0, f"{spec}: formatted\n")
    assert spec.read_text() == (
        "model_ref: m-v1\n"
        "optimizer: { type: torch.optim.SGD,  lr: 0.1 }   # c\n"
        "config:\n"
        "  callbacks_extra: [ a,\n"
        "                     'b' ]    # d\n"
    )
    again = run("--check", spec)
    assert (again.returncode, again.stdout) == (0, "")
