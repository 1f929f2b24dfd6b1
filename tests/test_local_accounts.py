"""Local mode's accounts end to end, in a child process (it sets AWS_ENDPOINT_URL
and COGNITO_*): a pool on the moto server, the printed admin signs in with
USER_PASSWORD_AUTH, the local API verifies the token against the moto server's
JWKS over HTTP, and config.json carries the pool for the page."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import json, os, sys, urllib.request
    sys.path[:0] = [{root!r}, {functions!r}]
    os.environ.pop("COGNITO_USER_POOL_ID", None)
    os.environ["LIVEREPORT_ADMIN_EMAIL"] = "Owner@Example.com"
    from pathlib import Path
    from infra.local.stack import LocalStack
    from infra.local.accounts import start_accounts
    web = Path({web!r}); web.mkdir(exist_ok=True); (web / "index.html").write_text("<!doctype html>")
    stack = LocalStack(table_name="livereport-accounts-local", web_dir=web)
    stack.start_moto(); stack.create_table(); stack.start_api()
    accounts = start_accounts(stack)
    assert stack.start_web(accounts.web_config)
    import boto3
    cognito = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=stack.moto_url)
    tokens = cognito.initiate_auth(ClientId=accounts.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={{
        "USERNAME": accounts.email, "PASSWORD": accounts.password}})["AuthenticationResult"]

    def get(path, token, workspace=None):
        headers = {{"Authorization": "Bearer " + token}}
        if workspace:
            headers["X-Workspace"] = workspace
        try:
            with urllib.request.urlopen(urllib.request.Request(stack.api_url + path, headers=headers)) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    out = {{"lines": accounts.lines, "email": accounts.email, "password": accounts.password,
           "me": get("/v1/me", tokens["AccessToken"]), "me_id": get("/v1/me", tokens["IdToken"]),
           "members": get("/v1/members", tokens["AccessToken"], "demo"),
           "forged": get("/v1/me", tokens["AccessToken"][:-4] + "AAAA"),
           "config": json.loads(urllib.request.urlopen(stack.web_url + "config.json").read()),
           "moto_url": stack.moto_url, "api_url": stack.api_url, "pool": accounts.user_pool_id,
           "client": accounts.client_id}}
    print("RESULT " + json.dumps(out), flush=True)
    stack.stop()
    os._exit(0)
""")


def test_make_run_accounts(tmp_path):
    script = SCRIPT.format(root=str(ROOT), functions=str(ROOT / "functions"), web=str(tmp_path / "web"))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, cwd=ROOT)
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, run.stdout[-2000:] + run.stderr[-4000:]
    out = json.loads(line[7:])
    assert out["email"] == "owner@example.com"
    assert out["lines"][0] == f"sign-in: owner@example.com {out['password']}"
    password = out["password"]
    assert len(password) >= 12 and any(c.isupper() for c in password) and any(c.isdigit() for c in password)
    for key in ("me", "me_id"):
        status, me = out[key]
        assert status == 200, me
        assert me["kind"] == "user" and me["email"] == "owner@example.com"
        assert {(w["workspace"], w["role"]) for w in me["workspaces"]} == {("demo", "admin"), ("default", "admin")}
    status, members = out["members"]
    assert status == 200 and [m["email"] for m in members["members"]] == ["owner@example.com"]
    assert out["forged"][0] == 401
    assert out["config"]["apiUrl"] == out["api_url"]
    assert out["config"]["cognito"] == {"userPoolId": out["pool"], "clientId": out["client"],
                                        "region": "us-east-1", "endpoint": out["moto_url"],
                                        "authFlow": "USER_PASSWORD_AUTH"}  # moto does not check SRP proofs
