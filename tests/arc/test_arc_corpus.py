"""`arcgraph check` against Arc's own verdict on every spec Arc ships (issue 11).

tests/arc/corpus/ holds Arc's specs (origin in each header, scripts/arc_corpus.py);
tests/arc/verdicts.json holds Arc 0.1.1's verdict on each (scripts/arc_verdict.py, run
with Arc installed) and what `check` must say (`expect`, `why`: scripts/arc_compare.py).
Files `check` does not handle yet carry their `cause`; they are strict xfails, so the
change that fixes a cause must drop its label from verdicts.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VERDICTS = {
    name: v
    for name, v in json.loads((HERE / "verdicts.json").read_text(encoding="utf-8")).items()
    if not name.startswith("_")
}


def _case(name: str, v: dict[str, Any]) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=v["cause"])] if "cause" in v else []
    return pytest.param(name, v, id=name, marks=marks)


@pytest.fixture(scope="module")
def diagnostics() -> dict[str, list[dict[str, Any]]]:
    """One `check` of the whole corpus (from the repo root, as scripts/arc_compare.py runs it)."""
    out = subprocess.run(
        [sys.executable, "-m", "arcgraph", "check", "--format", "json", "tests/arc/corpus"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in json.loads(out.stdout):
        by_file[Path(d["path"]).name].append(d)
    return by_file


def test_corpus_and_verdicts_match() -> None:
    files = {p.name for p in (HERE / "corpus").glob("*.yaml")}
    assert files == set(VERDICTS)
    for name in files:
        head = (HERE / "corpus" / name).read_text(encoding="utf-8").splitlines()[0]
        assert head == f"# origin: {VERDICTS[name]['origin']}"
        assert head.startswith("# origin: Non-linear-AI/Arc@")


@pytest.mark.parametrize(("name", "verdict"), [_case(n, v) for n, v in sorted(VERDICTS.items())])
def test_check_agrees_with_arc(
    name: str, verdict: dict[str, Any], diagnostics: dict[str, list[dict[str, Any]]]
) -> None:
    diags = diagnostics.get(name, [])
    errors = [f"{d['code']} {d['message']}" for d in diags if d["severity"] == "error"]
    codes = {d["code"] for d in diags}
    if verdict["kind"] in ("unified", "wrapper"):
        # Arc's other file forms: check must say what the file is (not only AG322, the ID hint)
        assert any(d["severity"] != "error" and d["code"] != "AG322" for d in diags), diags
    if verdict["expect"] == "clean":
        assert errors == [], f"Arc runs {name}; check refuses it"
    elif verdict["expect"] == "error":
        assert errors, f"Arc refuses {name} ({verdict.get('arc_message')}); check finds no error"
        if verdict.get("shape_error"):
            assert "AG314" in codes, f"torch's shape error in {name} is not reported: {errors}"
