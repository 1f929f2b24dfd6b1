"""Manage API keys: python -m infra.keys create|list|revoke ...

Talks to the table named by TABLE_NAME (and AWS_ENDPOINT_URL for a moto
server), so the same command serves local mode and AWS.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

import boto3  # noqa: E402

from chalicelib.auth import SCOPES, KeyError_, KeyStore  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.keys", description=__doc__)
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME", "livereport-dev"))
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key (printed once; only its hash is stored)")
    create.add_argument("--workspace", required=True)
    create.add_argument("--scope", action="append", choices=SCOPES, required=True)
    create.add_argument("--label", default="")
    listing = sub.add_parser("list", help="list a workspace's keys (ids, scopes, revoked)")
    listing.add_argument("--workspace", required=True)
    revoke = sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("--workspace", required=True)
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)
    store = KeyStore(boto3.client("dynamodb"), args.table)
    try:
        if args.command == "create":
            key_id, key = store.create(args.workspace, args.scope, args.label)
            print(json.dumps({"key_id": key_id, "key": key, "workspace": args.workspace, "scopes": sorted(args.scope)}))
        elif args.command == "list":
            print(json.dumps(store.list(args.workspace), indent=2))
        elif not store.revoke(args.workspace, args.key_id):
            print(f"no key {args.key_id} in workspace {args.workspace}", file=sys.stderr)
            return 1
        else:
            print(f"revoked {args.key_id}")
    except KeyError_ as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
