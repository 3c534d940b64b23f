"""Lanes drop work handed over after shutdown instead of raising."""

from arcgraph.lsp.lanes import Lane


def test_submit_after_shutdown_is_a_cancelled_future() -> None:
    lane = Lane("t")
    assert lane.submit(lambda: 41 + 1).result(timeout=5) == 42
    lane.shutdown()
    late = lane.submit(lambda: 1)
    assert late.cancelled()
