"""python -m infra.cdk synth [-c stage=dev] [-c sender=...] [--out DIR]

Without arguments under the CDK CLI (which sets CDK_OUTDIR), acts as the CDK
app: `npx aws-cdk@2 deploy --app "python -m infra.cdk" -c stage=dev`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv and os.environ.get("CDK_OUTDIR"):
        from infra.cdk.app import cli_app
        cli_app()
        return 0
    parser = argparse.ArgumentParser(prog="python -m infra.cdk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    synth_cmd = sub.add_parser("synth", help="write the CloudFormation templates (offline)")
    synth_cmd.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE",
                           help="stage=dev|prod, sender=, sender_domain=, alarm_email=, log_retention_days=, "
                                "stream_mode=provisioned|on_demand, stream_shards=, stream_batching_window_s=, "
                                "aggregator_memory_mb=, aggregator_timeout_s=, rollup_timeout_s=, api_timeout_s=, "
                                "<ingest|webhook|report|stamp|default>_rate= and _burst=, "
                                "threat_protection=off|audit|enforced, waf=true, waf_read_limit=, waf_write_limit= "
                                "(docs/deploy.md)")
    synth_cmd.add_argument("--out", default=None, help="output directory (default infra/cdk/cdk.out)")
    args = parser.parse_args(argv)
    context = {}
    for item in args.context:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"-c {item}: expected KEY=VALUE")
        context[key] = value
    started = time.perf_counter()
    from infra.cdk.app import DEFAULT_OUTDIR, synth
    try:
        result = synth(outdir=args.out or DEFAULT_OUTDIR, context=context)
    except ValueError as exc:  # bad stage or context value
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for stage, template in result.templates.items():
        print(f"{stage}: {template}")
    print(f"synthesized in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
