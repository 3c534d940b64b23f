"""docs/codes.md is generated from arcgraph.engine.codes: the two never drift apart."""

from pathlib import Path

from arcgraph.engine import codes


def test_codes_doc_is_current() -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "codes.md"
    assert doc.read_text() == codes.render_markdown(), (
        "run: python -m arcgraph.engine.codes > docs/codes.md"
    )


def test_codes_are_unique_and_well_formed() -> None:
    table = codes.table()
    assert len({c.code for c in table}) == len(table)
    assert all(c.code.startswith("AG") and c.code[2:].isdigit() for c in table)
