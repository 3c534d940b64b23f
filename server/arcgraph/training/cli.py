"""`arcgraph train`: argument parsing and exit codes around `arcgraph.training.api.train`.

Exit codes: 0 trained (also when stopped early); 1 refused or failed (spec, data, resume,
non-finite loss: the message says which); 128 + signal number after a Ctrl-C/SIGTERM that saved
a checkpoint; 130 when a second signal aborted at once.
"""

from __future__ import annotations

import argparse
import sys

from arcgraph.training.errors import TrainError, TrainingInterrupted
from arcgraph.training.launch import add_launch_arguments, wants_launch
from arcgraph.training.memory_bound import parse_mb


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trainer", required=True, metavar="PATH", help="trainer spec (YAML)")
    parser.add_argument(
        "--model",
        metavar="ID|PATH",
        help="model spec file or ID (default: the trainer's model_ref, from the workspace registry)",
    )
    parser.add_argument("--data", required=True, metavar="PATH", help="CSV or Parquet table")
    parser.add_argument(
        "--target", metavar="COLUMN", help="target column (default: the model's loss.inputs.target)"
    )
    parser.add_argument("--out", default="runs", metavar="DIR", help="runs folder (default: runs)")
    parser.add_argument("--name", metavar="NAME", help="run directory name (default: a timestamp)")
    parser.add_argument(
        "--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint"
    )
    parser.add_argument(
        "--force", action="store_true", help="resume even though the specs or data changed"
    )
    parser.add_argument(
        "--events",
        metavar="PATH|-",
        help="write progress as JSON lines to PATH, or to stdout with '-'",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a trainer spec field for this run (repeatable; VALUE is YAML), "
        "e.g. --set config.device=cpu",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress output (as config.verbose: false)"
    )
    parser.add_argument(
        "--data-memory-mb",
        type=memory_mb,
        metavar="N",
        help="memory bound in MB for Parquet data streamed from disk (a folder always, a file "
        "larger than N); the same as ARCGRAPH_DATA_MEMORY_MB, which this flag overrides",
    )
    add_launch_arguments(parser)


def memory_mb(text: str) -> float:
    """--data-memory-mb's value: a number of MB above 0."""
    value = parse_mb(text)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a bound in MB: give a number > 0, e.g. 512"
        )
    return value


def run(args: argparse.Namespace) -> int:
    from arcgraph.training.api import train
    from arcgraph.training.distributed import world_from_env
    from arcgraph.training.events import JsonLines

    if wants_launch(args):  # W processes under torchrun, each running this same command
        from arcgraph.training.launch import launch

        return launch(args)
    sink = None
    try:
        # On W processes rank 0 alone reports (the others' events would interleave).
        main_rank = world_from_env().main
        sink = JsonLines(args.events) if args.events and main_rank else None
        train(
            args.trainer,
            args.data,
            model=args.model,
            target=args.target,
            out=args.out,
            resume=args.resume,
            force=args.force,
            events=sink,
            run_name=args.name,
            verbose=False if args.quiet else None,
            overrides=args.overrides,
            data_memory_mb=args.data_memory_mb,
        )
        return 0
    except TrainingInterrupted as err:
        print(f"arcgraph train: {err}", file=sys.stderr)
        return 128 + err.signum
    except TrainError as err:
        print(f"arcgraph train: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("arcgraph train: aborted", file=sys.stderr)
        return 130
    except OSError as err:  # what no check above foresaw: still one line, not a traceback
        where = f" ({err.filename})" if err.filename else ""
        print(f"arcgraph train: error: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    finally:
        if sink is not None:
            sink.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arcgraph train", description="Train a model spec.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
