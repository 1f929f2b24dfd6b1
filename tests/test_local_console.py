"""Local mode's console: quiet by default, one error shape from chalice local's own 401."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from infra.local import console
from infra.local.stack import FUNCTIONS, free_port


def test_verbose_switch():
    assert not console.verbose({})
    assert not console.verbose({"LIVEREPORT_VERBOSE": "0"})
    assert console.verbose({"LIVEREPORT_VERBOSE": "1"})


def test_chalice_local_missing_authorization_has_the_api_error_shape(capsys):
    import app as app_module
    from chalice.cli.factory import CLIFactory
    from chalice.local import CustomLocalChalice, LocalDevServer, create_local_server
    console.configure({})
    config = CLIFactory(str(FUNCTIONS)).create_config_obj(chalice_stage_name="dev")
    port = free_port()
    # create_local_server rebases the app's class: only once per process (the browser stack may have)
    already = isinstance(app_module.app, CustomLocalChalice)
    server = (LocalDevServer(app_module.app, config, "127.0.0.1", port) if already
              else create_local_server(app_module.app, config, "127.0.0.1", port))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/campaigns", timeout=10)
            raise AssertionError("expected 401")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
            body = json.loads(exc.read())
            assert body["error"]["code"] == "unauthorized" and "Authorization" in body["error"]["message"]
            assert exc.headers["Access-Control-Allow-Origin"] == "*"  # the page can read it
    finally:
        server.shutdown()
    assert "GET /v1/campaigns" not in capsys.readouterr().err  # no access log line by default


@pytest.fixture
def quiet():
    """console.configure({}) for one test: the logger levels and warning filters it sets are put back."""
    import logging
    import warnings
    levels = {name: logging.getLogger(name).level for name in ("livereport", "chalicelib", "werkzeug")}
    filters = list(warnings.filters)
    console.configure({})
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    warnings.filters[:] = filters


def test_quiet_console_prints_no_metric_line_however_many_requests(quiet, capsys, monkeypatch):
    """Powertools with metrics disabled kept every value and printed a ~5 KB EMF line per
    100 values; quiet local mode clears them on each flush instead."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    import app as app_module
    from aws_lambda_powertools.metrics import MetricUnit
    for _ in range(250):
        app_module.metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=1)
        app_module.metrics.add_metric(name="StreamRecordsPut", unit=MetricUnit.Count, value=1)
        app_module.metrics.flush_metrics()
    app_module.metrics.flush_metrics()  # an empty flush: no "No application metrics" warning either
    out = capsys.readouterr()
    assert "_aws" not in out.out and "CloudWatchMetrics" not in out.out
    assert "No application metrics" not in out.err
    assert app_module.metrics.metric_set == {}


def test_quiet_console_keeps_errors_and_drops_warnings(quiet, capsys):
    """A refused webhook or a retried send is the caller's news (a warning); an error is printed."""
    import logging

    import sys

    import app as app_module
    # the handler holds the stdout of when app was first imported (another test's, in a full run)
    for handler in logging.getLogger(app_module.logger.name).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stdout)
    app_module.logger.warning("webhook refused", extra={"platform": "twilio"})
    logging.getLogger("chalicelib.aggregator").warning("dropping records of an attempt never committed")
    app_module.logger.error("snapshot build failed")
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "webhook refused" not in printed and "dropping records" not in printed
    assert "snapshot build failed" in printed
