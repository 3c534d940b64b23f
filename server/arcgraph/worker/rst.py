"""Turn torch's RST/LaTeX docstrings into short, clean Markdown for hovers and completions.

Torch-free and pure so it is unit-tested directly. Only what a hover needs is kept: the first
paragraph of the description and the first paragraph of each argument's text. Roles such as
:class:`~torch.nn.Linear` become `Linear`, :math:`\\text{in}` becomes `in`, directives and
reference targets are dropped or turned into bold labels.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_LATEX_WRAPPERS = re.compile(
    r"\\(?:text|mathrm|mathbf|mathit|mathsf|mathtt|textbf|textit|texttt|operatorname|mathcal|"
    r"mathbb|boldsymbol|bm|hat|bar|tilde|vec|overline|underline)\s*\{(\{)?([^{}]*)(?(1)\})\}"
)
_LATEX_SYMBOLS = {
    "times": "×",
    "cdot": "·",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "in": "∈",
    "sum": "Σ",
    "prod": "Π",
    "infty": "∞",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "Delta": "Δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "lambda": "λ",
    "mu": "μ",
    "sigma": "σ",
    "Sigma": "Σ",
    "theta": "θ",
    "eta": "η",
    "rho": "ρ",
    "tau": "τ",
    "pi": "π",
    "phi": "φ",
    "omega": "ω",
    "ldots": "…",
    "dots": "…",
    "cdots": "⋯",
    "rightarrow": "→",
    "to": "→",
    "leftarrow": "←",
    "approx": "≈",
    "sim": "~",
    "odot": "⊙",
    "otimes": "⊗",
    "partial": "∂",
    "nabla": "∇",
    "mid": "|",
    "vert": "|",
    "lvert": "|",
    "rvert": "|",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
    "top": "ᵀ",
    "pm": "±",
    "forall": "∀",
    "exists": "∃",
    "quad": " ",
    "qquad": " ",
    "left": "",
    "right": "",
    "big": "",
    "Big": "",
    "bigg": "",
    "Bigg": "",
    "displaystyle": "",
    "nonumber": "",
    "begin": "",
    "end": "",
}


def latex_to_text(tex: str) -> str:
    """`\\text{out}_i = \\frac{1}{n}` -> `out_i = (1)/(n)`: readable, not typeset."""
    s = tex
    for _ in range(6):
        s2 = _LATEX_WRAPPERS.sub(r"\2", s)
        s2 = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"(\1)/(\2)", s2)
        s2 = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"√(\1)", s2)
        if s2 == s:
            break
        s = s2
    s = re.sub(r"\\([,;:! ])", " ", s)
    s = re.sub(r"\\([{}_%&#$|])", r"\1", s)
    s = s.replace("\\\\", " ")
    s = re.sub(r"\\([A-Za-z]+)", lambda m: _LATEX_SYMBOLS.get(m.group(1), m.group(1)), s)
    s = re.sub(r"([_^])\{([^{}]*)\}", r"\1\2", s)
    s = s.replace("{", "").replace("}", "").replace("&", "")
    return re.sub(r"[ \t]+", " ", s).strip()


def _role(m: re.Match[str]) -> str:
    role, body = m.group(1) or "", m.group(2)
    if role == "math":
        return f"`{latex_to_text(body)}`"
    label = re.match(r"^(.*?)\s*<([^<>]+)>$", body, re.S)
    if label and label.group(1):
        text = label.group(1)
        return text if role in {"ref", "doc", "term"} else f"`{text}`"
    if role in {"ref", "doc", "term"}:
        return (label.group(2) if label else body).rsplit("/", 1)[-1].replace("-", " ")
    body = body.lstrip("!\\")
    if body.startswith("~"):
        body = body[1:].rsplit(".", 1)[-1]
    if role in {"func", "meth"} and not body.endswith(")"):
        body += "()"
    return f"`{body}`"


_ROLE = re.compile(r":(?:py:)?(?:(\w+):)?`([^`]+)`")


def inline(text: str) -> str:
    """Inline RST -> Markdown: roles, ``literals``, `links <url>`_, stray escapes."""
    s = _ROLE.sub(_role, text)
    s = re.sub(r"``([^`]+)``", r"`\1`", s)
    s = re.sub(r"`([^`<>]+?)\s*<(https?://[^>]+)>`__?", r"[\1](\2)", s)
    s = re.sub(r"`([^`<>]+?)\s*<[^>]+>`__?", r"\1", s)
    s = re.sub(r"`([^`]+)`__?", r"\1", s)
    s = re.sub(r"\|(\w+)\|", r"\1", s)
    s = re.sub(r"(?<!\\)\\ ", "", s)
    s = re.sub(r"(?<=`)\\(?=\w)", "", s)
    s = re.sub(r"(?<!\\)\\([*_`()\[\]])", r"\1", s)
    s = s.replace("\\\\", "\\")
    return s


def paragraph(lines: list[str]) -> str:
    """Join one paragraph's lines into one Markdown line of inline text."""
    text = " ".join(ln.strip() for ln in lines if ln.strip())
    text = re.sub(r"::$", ":", text)
    return re.sub(r"\s+", " ", inline(text)).strip()


_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword args|Keyword arguments|Kwargs|Keyword Args|"
    r"Keyword Arguments|Other Parameters)\s*:\s*$"
)
_OTHER_SECTION = re.compile(r"^[A-Z][A-Za-z ]{1,30}:\s*$|^[A-Z][A-Za-z ]{1,30}::\s*$")
_ARG = re.compile(
    r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*"
    r"(?:\((?P<type>[^()]*(?:\([^()]*\)[^()]*)*)\))?\s*:(?!:)\s*(?P<desc>.*)$"
)
_FIELD = re.compile(r"^:param\s+(?:(?P<type>[\w.\[\], |]+)\s+)?(?P<name>\w+):\s*(?P<desc>.*)$")
_SIG_LINE = re.compile(r"^[\w.]+\(.*\)\s*(->.*)?$")


@dataclass
class ParsedDoc:
    summary: str = ""
    signatures: list[str] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _summary(lines: list[str]) -> str:
    i = 0
    while i < len(lines):
        ln = lines[i].strip()
        if not ln:
            i += 1
            continue
        if ln.startswith(".. ") or _SECTION.match(ln) or _OTHER_SECTION.match(ln):
            # skip a directive / section with its indented body
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > 0):
                i += 1
            continue
        if ln.startswith(">>>"):
            return ""
        para = []
        while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(".. "):
            para.append(lines[i])
            i += 1
        return paragraph(para)
    return ""


def _parse_args(lines: list[str], i: int, doc: ParsedDoc) -> int:
    """Parse one Args-like section starting after its header; return the next line index."""
    base: int | None = None
    name_list: list[str] = []
    desc: list[str] = []
    in_first_para = True

    def flush() -> None:
        if name_list:
            text = paragraph(desc)
            for n in name_list:
                doc.args.setdefault(n, text)

    while i < len(lines):
        ln = lines[i]
        if not ln.strip():
            if name_list:
                in_first_para = False
            i += 1
            continue
        ind = _indent(ln)
        if base is None:
            if ind == 0:
                return i
            base = ind
        if ind < base:
            break
        if ind == base:
            m = _ARG.match(ln.strip())
            if not m:
                break
            flush()
            name_list = [n.strip().lstrip("*") for n in m.group("names").split(",")]
            typ = m.group("type")
            if typ:
                for n in name_list:
                    doc.types.setdefault(n, typ.strip())
            desc = [m.group("desc")]
            in_first_para = True
        elif in_first_para and not ln.strip().startswith(".. "):
            desc.append(ln)
        i += 1
    flush()
    return i


def parse_docstring(doc: str | None) -> ParsedDoc:
    """Summary, per-argument Markdown, per-argument doc types and signature lines of a docstring."""
    out = ParsedDoc()
    if not doc:
        return out
    lines = inspect.cleandoc(doc).splitlines()
    i = 0
    while i < len(lines) and (not lines[i].strip() or _SIG_LINE.match(lines[i].strip())):
        if lines[i].strip():
            out.signatures.append(lines[i].strip())
        i += 1
    body = lines[i:]
    out.summary = _summary(body)
    for ln in body:
        m = re.match(r"^\s*\.\. (?:function|method)::\s*(.+\))\s*(->.*)?$", ln)
        if m:
            out.signatures.append(m.group(1).strip())
    j = 0
    while j < len(body):
        ln = body[j].strip()
        if _SECTION.match(ln) and _indent(body[j]) == 0:
            j = _parse_args(body, j + 1, out)
            continue
        m = _FIELD.match(ln)
        if m:
            para = [m.group("desc")]
            k = j + 1
            while k < len(body) and body[k].strip() and _indent(body[k]) > _indent(body[j]):
                para.append(body[k])
                k += 1
            out.args.setdefault(m.group("name"), paragraph(para))
            if m.group("type"):
                out.types.setdefault(m.group("name"), m.group("type"))
            j = k
            continue
        j += 1
    return out
