"""Give lists made before consent existed their recipients' consent: python -m infra.consent ask|grandfather

Snapshot subscriptions and alert rules created before consent (issue 19) have
no consent item for their recipients, so nothing is sent to them any more
(their status shows `pending`, "no confirmation requested"). Run once after
deploying, with one of:

  ask          members of the workspace: confirmed; everyone else: asked to confirm
               (the scheduled mailer sends one confirmation request each, within the quota)
  grandfather  everyone who was receiving the emails stays confirmed (`via: migration`);
               they can still unsubscribe from any email

Lists that already have consent items are left alone, so running it again is
harmless. `--dry-run` only counts. Talks to the table named by TABLE_NAME
(and AWS_ENDPOINT_URL for a moto server), like infra.keys.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

import boto3  # noqa: E402

from chalicelib.accounts.members import MembershipStore  # noqa: E402
from chalicelib.alerts.store import AlertStore  # noqa: E402
from chalicelib.consent.lists import ALERT, SUB, ListContext, describe_rule, describe_subscription, ref  # noqa: E402
from chalicelib.consent.store import ConsentStore  # noqa: E402
from chalicelib.snapshots.schedule import ScheduleStore  # noqa: E402


def lists(client: Any, table: str) -> Iterator[tuple[str, str, list[str], str, str]]:
    """(workspace, list, recipients, language, description) of every subscription and alert rule."""
    for state in ScheduleStore(client, table).states():
        sub = state.sub
        yield sub.workspace, ref(SUB, sub.subscription_id), sub.recipients, sub.language, describe_subscription(sub)
    alerts = AlertStore(client, table)
    for workspace in alerts.workspaces():
        for rule in alerts.load(workspace)[0]:
            if rule.notify.emails:
                yield workspace, ref(ALERT, rule.rule_id), rule.notify.emails, rule.language, describe_rule(rule)


def migrate(client: Any, table: str, mode: str, dry_run: bool = False, now: float | None = None) -> dict[str, int]:
    now = time.time() if now is None else now
    consent, members = ConsentStore(client, table), MembershipStore(client, table)
    counts = {"lists": 0, "skipped": 0, "confirmed": 0, "asked": 0, "unsubscribed": 0}
    emails: dict[str, set[str]] = {}
    for workspace, list_ref, recipients, lang, what in lists(client, table):
        if consent.of_list(workspace, list_ref):
            counts["skipped"] += 1
            continue
        counts["lists"] += 1
        if workspace not in emails:
            emails[workspace] = {m.email for m in members.members(workspace)}
        confirmed = {a.lower() for a in recipients} if mode == "grandfather" else emails[workspace]
        if dry_run:
            counts["confirmed"] += sum(a.lower() in confirmed for a in recipients)
            counts["asked"] += sum(a.lower() not in confirmed for a in recipients)
            continue
        done = consent.register(workspace, list_ref, recipients, confirmed,
                                ListContext(lang, what, f"workspace {workspace}"), now,
                                confirmed_via="member" if mode == "ask" else "migration")
        for r in done.values():
            key = {"confirmed": "confirmed", "pending": "asked", "unsubscribed": "unsubscribed"}[r.status]
            counts[key] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.consent", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("ask", "grandfather"))
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME", "livereport-dev"))
    parser.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")
    args = parser.parse_args(argv)
    print(json.dumps(migrate(boto3.client("dynamodb"), args.table, args.mode, args.dry_run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
