"""Local mode's event source mapping folds with the stage's batching window (infra/local/streaming.py)."""
from __future__ import annotations

import threading

import pytest

from infra.cdk.config import DEFAULTS
from infra.local import streaming


def test_the_window_is_the_dev_stages_unless_set():
    assert streaming.batch_window({}) == DEFAULTS["dev"].stream_batching_window_s == 1
    assert streaming.batch_window({"LIVEREPORT_BATCH_WINDOW_SECONDS": "5"}) == 5
    assert streaming.batch_window({"LIVEREPORT_BATCH_WINDOW_SECONDS": "0"}) == 0
    for bad in ("soon", "-1", "301"):
        with pytest.raises(SystemExit, match="LIVEREPORT_BATCH_WINDOW_SECONDS"):
            streaming.batch_window({"LIVEREPORT_BATCH_WINDOW_SECONDS": bad})


class FakeServices:
    """Counts pumps; the first one fails (as a throttled fold would)."""

    def __init__(self) -> None:
        self.calls = 0
        self.second = threading.Event()

    def pump(self, handler, roll):
        assert roll is False  # the rollup has its own thread
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("throttled")
        self.second.set()


def test_a_failed_fold_is_retried_at_the_next_window_and_logged(capsys):
    services = FakeServices()
    poller = streaming.StreamPoller(services, handler=lambda event, context: None, window=0.05)
    poller.start()
    try:
        assert services.second.wait(10), "the poller stopped after a failed fold"
    finally:
        poller.stop()
    assert poller.failures == 1
    assert "aggregator: RuntimeError('throttled') (the records will be retried)" in capsys.readouterr().err
