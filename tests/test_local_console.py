"""Local mode's console: quiet by default, one error shape from chalice local's own 401."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

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
