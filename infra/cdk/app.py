"""Build and synthesize the CDK app in-process (no `cdk` CLI, no credentials).

The CDK CLI runs ``python -m infra.cdk`` as its app command (it passes the
output directory and context through the environment); ``make synth`` and the
tests call :func:`synth` directly.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
# chalice package needs a region to build the template; the template itself
# stays region-agnostic (AWS::Region), so any value works for synth.
os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION", "eu-west-1"))

import aws_cdk as cdk  # noqa: E402

from infra.cdk.config import CONTEXT_KEYS, STAGES, settings_for  # noqa: E402
from infra.cdk.nag import add_checks  # noqa: E402
from infra.cdk.stack import LiveReportStack  # noqa: E402

DEFAULT_OUTDIR = Path(__file__).resolve().parent / "cdk.out"
#: Keep the synthesized output reproducible and free of CDK's metadata resource.
BASE_CONTEXT = {"aws:cdk:version-reporting": False}


@dataclass
class Synthesized:
    outdir: Path
    stacks: dict[str, LiveReportStack]
    templates: dict[str, Path]  # stage -> template file


@contextlib.contextmanager
def _chalice_staging() -> Iterator[None]:
    """Side effects of chalice.cdk, contained: it writes its packages to
    ./chalice.out (kept out of the working tree; the deployment zip is copied
    into the cloud assembly) and loads the app after copying the stage's
    environment variables into os.environ (restored afterwards, so an
    in-process synth, e.g. in the test suite, leaves TABLE_NAME etc. alone)."""
    previous, environ, path = os.getcwd(), dict(os.environ), list(sys.path)
    app_loaded = "app" in sys.modules
    staging = tempfile.mkdtemp(prefix="livereport-chalice-")
    os.chdir(staging)
    try:
        yield
    finally:
        os.chdir(previous)
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
        if not app_loaded:  # imported by chalice under the stage's environment
            sys.modules.pop("app", None)
        shutil.rmtree(staging, ignore_errors=True)


def environment() -> cdk.Environment | None:
    """The CLI's account/region when deploying; environment-agnostic otherwise."""
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    return cdk.Environment(account=account, region=region) if account and region else None


def build(app: cdk.App, stages: list[str], context: dict[str, Any] | None = None) -> dict[str, LiveReportStack]:
    """The stacks, checked by cdk-nag's AWS Solutions rules when it is installed
    (infra/cdk/nag.py: an unacknowledged finding fails the synth)."""
    env = environment()
    stacks = {stage: LiveReportStack(app, settings_for(stage, context), env=env) for stage in stages}
    if not add_checks(app, stacks):
        print("cdk-nag is not installed (pip install -e '.[dev]'): AWS Solutions checks skipped", file=sys.stderr)
    return stacks


def synth(stages: list[str] | None = None, outdir: Path | str = DEFAULT_OUTDIR,
          context: dict[str, Any] | None = None, clean: bool = True, validate: bool = True) -> Synthesized:
    """Synthesize the given stages (default: the ``stage`` context, else dev).

    ``validate=False`` skips the CDK's built-in CloudFormation validation
    (~15 s); the tests run cfn-lint on the output instead."""
    context = dict(context or {})
    stages = stages or [context.get("stage") or "dev"]
    outdir = Path(outdir).resolve()
    if clean and outdir.exists():
        shutil.rmtree(outdir)
    app = cdk.App(outdir=str(outdir), context={**BASE_CONTEXT, **context},
                  builtin_cloud_formation_validation=validate)
    with _chalice_staging():
        stacks = build(app, stages, context)
        assembly = app.synth()
    templates = {stage: Path(assembly.get_stack_by_name(stack.stack_name).template_full_path)
                 for stage, stack in stacks.items()}
    return Synthesized(outdir, stacks, templates)


def cli_app() -> None:
    """Entry point under the CDK CLI (`cdk deploy --app "python -m infra.cdk"`)."""
    app = cdk.App(context=BASE_CONTEXT)
    stage = app.node.try_get_context("stage") or "dev"
    if stage not in STAGES:
        raise SystemExit(f"unknown stage {stage!r}: -c stage=dev|prod")
    context = {key: app.node.try_get_context(key) for key in CONTEXT_KEYS}
    with _chalice_staging():
        build(app, [stage], context)
        app.synth()
