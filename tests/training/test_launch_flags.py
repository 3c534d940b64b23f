"""`arcgraph train`'s torchrun flags mean torchrun's own: the arguments the launcher hands to
torch.distributed.run, read back by torchrun's parser and config; the refusals before any
process starts; the backend by device. No process is started here (test_distributed does)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch
from torch.distributed.run import config_from_args, get_args_parser

from arcgraph.cli import build_parser
from arcgraph.training.distributed import check_backend, default_backend
from arcgraph.training.errors import SpecError
from arcgraph.training.launch import _torchrun_argv, check_flags, wants_launch

from .conftest import base_config, make_workspace


def parse(trainer: Path, *flags: str) -> argparse.Namespace:
    return build_parser().parse_args(
        ["train", "--trainer", str(trainer), "--data", "d.csv", "--name", "r", *flags]
    )


@pytest.fixture
def trainer(tmp_path: Path) -> Path:
    return make_workspace(tmp_path, "iris-linear-v1", base_config())


def test_multi_node_flags_reach_torchrun_with_their_meanings(trainer: Path) -> None:
    args = parse(
        trainer,
        "--nproc-per-node", "4", "--nnodes", "2", "--node-rank", "1",
        "--rdzv-endpoint", "node0:29500", "--max-restarts", "3",
    )  # fmt: skip
    ran = get_args_parser().parse_args(_torchrun_argv(args, check_flags(args)))
    config, _cmd, cmd_args = config_from_args(ran)
    assert (config.min_nodes, config.max_nodes, config.nproc_per_node) == (2, 2, 4)
    assert (config.max_restarts, config.rdzv_endpoint) == (3, "node0:29500")
    assert config.rdzv_backend == "static" and config.rdzv_configs["rank"] == 1
    assert cmd_args[:3] == ["-u", "-m", "arcgraph"]
    # the ranks run the same training, without the launch flags
    want = ["train", "--trainer", str(trainer), "--data", "d.csv", "--out", "runs", "--name", "r"]
    assert cmd_args[3:] == want


def test_one_node_is_a_local_rendezvous_on_a_free_port(trainer: Path) -> None:
    args = parse(trainer, "--nproc-per-node", "2")
    config, _, _ = config_from_args(get_args_parser().parse_args(_torchrun_argv(args, 2)))
    assert (config.min_nodes, config.max_nodes, config.nproc_per_node) == (1, 1, 2)
    assert (config.max_restarts, config.rdzv_backend, config.rdzv_endpoint) == (
        0,
        "c10d",
        "localhost:0",
    )


def test_the_spec_world_size_is_the_default_process_count(tmp_path: Path) -> None:
    trainer = make_workspace(
        tmp_path, "iris-linear-v1", base_config(distributed=True, world_size=4)
    )
    assert wants_launch(parse(trainer)) and check_flags(parse(trainer)) == 4
    two_nodes = parse(trainer, "--nnodes", "2", "--rdzv-endpoint", "node0:29500")
    assert check_flags(two_nodes) == 2  # 2 per node: world_size 4 in all
    off = make_workspace(tmp_path, "iris-linear-v1", base_config(world_size=4), name="off")
    assert not wants_launch(parse(off))  # distributed: true is what asks for the launch


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--nnodes", "2"],
            "--nnodes > 1 needs --rdzv-endpoint HOST:PORT (node 0's address)",
        ),
        (
            ["--nnodes", "2", "--node-rank", "2", "--rdzv-endpoint", "node0:29500"],
            "--node-rank 2 is not a node of --nnodes 2; give each node its rank, 0 to 1",
        ),
        (["--nproc-per-node", "0"], "--nproc-per-node and --nnodes must be at least 1"),
        (
            ["--nproc-per-node", "3"],
            "config.batch_size 32 is not divisible by the 3 processes; each process takes"
            " batch_size / 3 rows of a batch: use a multiple of 3",
        ),
    ],
)
def test_flags_that_cannot_run_are_refused(trainer: Path, flags: list[str], message: str) -> None:
    with pytest.raises(SpecError) as err:
        check_flags(parse(trainer, *flags))
    assert str(err.value) == message


def test_the_backend_defaults_to_nccl_on_cuda_and_gloo_elsewhere() -> None:
    assert default_backend(torch.device("cuda", 0)) == "nccl"
    assert default_backend(torch.device("cpu")) == "gloo"
    assert default_backend(torch.device("mps")) == "gloo"
    assert check_backend(None, torch.device("cpu")) == "gloo"
    assert check_backend("gloo", torch.device("cuda", 0)) == "gloo"  # the spec's choice


def test_nccl_off_cuda_is_refused_before_any_process_starts(tmp_path: Path) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(device="cpu"))
    with pytest.raises(SpecError) as err:
        check_flags(parse(trainer, "--nproc-per-node", "2", "--set", "config.backend=nccl"))
    assert str(err.value) == (
        "config.backend 'nccl' needs CUDA devices but the run is on cpu; use backend: gloo,"
        " or config.device: cuda"
    )
    gloo = parse(trainer, "--nproc-per-node", "2", "--set", "config.backend=gloo")
    assert check_flags(gloo) == 2


def test_help_explains_the_distributed_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal width
    for words in (
        "distributed (torchrun): train on several processes with torch.distributed (DDP),"
        " launched by torchrun; batch_size stays the global batch (docs/distributed.md)",
        "--nproc-per-node N train on N processes on this node, under torchrun (default:"
        " config.world_size / M with config.distributed: true, else one process without torchrun)",
        "--nnodes M nodes in the run, each started with the same flags and its own --node-rank"
        " (default: 1)",
        "--node-rank R this node's rank, 0 to M-1; node 0 holds rank 0, which writes the run"
        " directory (default: 0)",
        "--rdzv-endpoint HOST:PORT node 0's address, where the nodes meet (required with"
        " --nnodes > 1)",
        "--max-restarts K restart the group up to K times when a rank dies; it resumes from the"
        " last checkpoint (default: 0)",
    ):
        assert words in text
