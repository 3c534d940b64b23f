"""`arcgraph`: check specs (CI), train them, serve them to editors (LSP)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from arcgraph.version import __version__


def _check(args: argparse.Namespace) -> int:
    from arcgraph.engine.checks.context import CheckOptions
    from arcgraph.engine.core import check_files, collect_spec_files
    from arcgraph.engine.diagnostics import Severity
    from arcgraph.engine.registry import workspace_root_for
    from arcgraph.engine.report import format_json, format_text, summary_line

    paths = [Path(p) for p in (args.paths or ["."])]
    missing = [p for p in paths if not p.exists()]
    if missing:
        for p in missing:
            print(f"arcgraph check: {p}: no such file or folder", file=sys.stderr)
        return 2
    torch = None
    if not args.no_torch:
        from arcgraph.worker.client import TorchWorker

        torch = TorchWorker(interpreter=args.python)
    options = CheckOptions(shape_check=not args.no_shape_check, spec=args.spec)
    files = collect_spec_files(paths)  # walked once: checked, then counted in the summary
    roots = sorted({workspace_root_for(p) for p in paths})
    try:
        diags = check_files(files, roots, torch=torch, options=options)
    finally:
        if torch is not None:
            torch.close()
    if args.format == "json":
        print(format_json(diags))
    else:
        if diags:
            print(format_text(diags))
        print(summary_line(diags, len(files)))
    return 1 if any(d.severity == Severity.ERROR for d in diags) else 0


def _summary(args: argparse.Namespace) -> int:
    import json

    from arcgraph.engine.checks.context import CheckOptions
    from arcgraph.engine.core import Engine
    from arcgraph.engine.diagnostics import Severity
    from arcgraph.engine.files import NotRegularFile, read_regular_text
    from arcgraph.engine.kinds import SpecKind, detect_kind
    from arcgraph.engine.report import format_text
    from arcgraph.worker.client import TorchWorker

    path = Path(args.model)
    try:
        text = read_regular_text(path) or ""
    except (OSError, NotRegularFile) as exc:
        print(f"arcgraph summary: {path}: {exc}", file=sys.stderr)
        return 2
    torch = TorchWorker(interpreter=args.python)
    try:
        engine = Engine(torch=torch, options=CheckOptions(shape_summary=True))
        if detect_kind(path, None, text) != SpecKind.MODEL:
            print(f"arcgraph summary: {path}: not a model spec", file=sys.stderr)
            return 2
        diags = engine.check(path, text)
    finally:
        torch.close()
    shapes = engine.shapes.get(path)  # the graph's shapes, even when other keys have errors
    if shapes is None:
        errors = [d for d in diags if d.severity == Severity.ERROR]
        print(format_text(errors or diags))
        print(f"arcgraph summary: {path}: fix these first; no shapes to show", file=sys.stderr)
        return 1
    print(json.dumps(shapes.as_json(), indent=2) if args.format == "json" else shapes.table())
    return 0


def _format(args: argparse.Namespace) -> int:
    from arcgraph.engine.core import collect_spec_files
    from arcgraph.engine.format_files import format_file

    paths = [Path(p) for p in args.paths]
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        print(f"arcgraph format: {p}: no such file or folder", file=sys.stderr)
    if missing:
        return 2
    changed = failed = 0
    for f in collect_spec_files(paths):
        outcome = format_file(f, tab_size=args.indent, check=args.check)
        if outcome.status == "changed":
            changed += 1
            print(f"{f}: would be reformatted" if args.check else f"{f}: formatted")
        elif outcome.status in ("error", "refused"):
            failed += outcome.status == "error"
            print(f"arcgraph format: {f}: {outcome.why}", file=sys.stderr)
    if failed:
        return 2
    return 1 if args.check and changed else 0


def _train(args: argparse.Namespace) -> int:
    from arcgraph.training.cli import run

    return run(args)


def _convert(args: argparse.Namespace) -> int:
    from arcgraph.training.convert import convert_csv
    from arcgraph.training.errors import DataError

    try:
        rows = convert_csv(args.source, args.target)
    except DataError as err:
        print(f"arcgraph convert: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"arcgraph convert: error: {err.strerror or err} ({err.filename})", file=sys.stderr)
        return 1
    print(f"{args.target}: {rows} rows")
    return 0


def _lsp(args: argparse.Namespace) -> int:
    from arcgraph.memory import use_c_allocator

    use_c_allocator()  # a long-lived process: freed memory must go back (see there)
    from arcgraph.lsp.server import serve

    return serve(args)


def build_parser(with_train_args: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arcgraph", description=__doc__)
    parser.add_argument("--version", action="version", version=f"arcgraph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="check spec files and folders (recursive)")
    check.add_argument("paths", nargs="*", help="files or folders (default: .)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument(
        "--python", help="interpreter with torch for the torch checks (default: this one)"
    )
    check.add_argument("--no-torch", action="store_true", help="structure checks only")
    check.add_argument(
        "--no-shape-check", action="store_true", help="skip the meta-device forward pass"
    )
    check.add_argument(
        "--spec",
        choices=("1.0", "1.1"),
        default="1.1",
        help="trainer spec version to stay within: 1.0 flags the v1.1 keys (default: 1.1)",
    )
    check.set_defaults(func=_check)

    summary = sub.add_parser(
        "summary", help="a model spec's nodes: output shapes and parameter counts (torch)"
    )
    summary.add_argument("model", help="a model spec file")
    summary.add_argument("--format", choices=("text", "json"), default="text")
    summary.add_argument("--python", help="interpreter with torch (default: this one)")
    summary.set_defaults(func=_summary)

    fmt = sub.add_parser("format", help="format spec files: key order, indentation, comments kept")
    fmt.add_argument("paths", nargs="+", help="files or folders (recursive)")
    fmt.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when a file would change"
    )
    fmt.add_argument(
        "--indent",
        type=int,
        default=2,
        choices=range(1, 9),
        metavar="N",
        help="spaces per indentation level (default: 2)",
    )
    fmt.set_defaults(func=_format)

    train = sub.add_parser("train", help="train a model spec with a trainer spec on a data table")
    if with_train_args:  # imports torch: only when training, never for check or lsp
        from arcgraph.training.cli import add_arguments

        add_arguments(train)
    train.set_defaults(func=_train)

    convert = sub.add_parser(
        "convert", help="write a CSV table as Parquet (streamed: for data larger than memory)"
    )
    convert.add_argument("source", help="the CSV (or .tsv, .csv.gz) file")
    convert.add_argument("target", help="the Parquet file to write (replaced atomically)")
    convert.set_defaults(func=_convert)

    lsp = sub.add_parser("lsp", help="run the language server (stdio by default)")
    lsp.add_argument(
        "--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio (debugging)"
    )
    lsp.set_defaults(func=_lsp)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(with_train_args="train" in argv[:1]).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
