"""Run-time secrets and settings a deployed stage keeps out of Lambda's
environment, read through Powertools Parameters and cached per container.

A value in an environment variable is shown to anyone who may read the
function's configuration (lambda:GetFunctionConfiguration) and sits in every
template and console view; here the environment only names where the value
lives (an ARN, a parameter name) and the function's role may read that one
resource (infra/cdk/permissions.py).
"""
from __future__ import annotations

import os
from typing import Mapping

#: LIVEREPORT_ENV values where a public development secret applies (local mode, tests)
DEV_ENVIRONMENTS = frozenset({"local", "test"})
MIN_SECRET_LENGTH = 16


class SecretMissing(RuntimeError):
    """A deployed stage without a secret it needs: an error, never a silent default."""

from aws_lambda_powertools.utilities import parameters

#: How long a container keeps a value before reading it again: one call per
#: container and hour, and a rotated secret reaches every container within the hour.
MAX_AGE_SECONDS = 3600


def secret_string(secret_id: str, max_age: int = MAX_AGE_SECONDS) -> str:
    """The SecretString of a Secrets Manager secret (ARN or name), cached."""
    value = parameters.get_secret(secret_id, max_age=max_age)
    if isinstance(value, bytes):
        return value.decode()
    if not isinstance(value, str) or not value:
        raise LookupError(f"secret {secret_id} has no SecretString")
    return value


def named_secret(name: str, dev_secret: str, env: Mapping[str, str] = os.environ) -> bytes:
    """A secret the stage names by `<NAME>_ARN` (Secrets Manager, cached) or gives as
    `<NAME>` (local runs); the public `dev_secret` only when LIVEREPORT_ENV is local
    or test. Anywhere else a missing or short secret raises SecretMissing."""
    secret = env.get(name, "")
    if not secret and env.get(f"{name}_ARN"):
        secret = secret_string(env[f"{name}_ARN"])
    if secret:
        if len(secret) < MIN_SECRET_LENGTH:
            raise SecretMissing(f"{name} must be at least {MIN_SECRET_LENGTH} characters")
        return secret.encode()
    if env.get("LIVEREPORT_ENV", "").lower() in DEV_ENVIRONMENTS:
        return dev_secret.encode()
    raise SecretMissing(f"set {name} or {name}_ARN (or LIVEREPORT_ENV=local|test for the development secret)")


def parameter_string(name: str, max_age: int = MAX_AGE_SECONDS) -> str:
    """An SSM parameter's value (a setting CloudFormation knows only after the
    function exists, such as the dashboard's address), cached."""
    value = parameters.get_parameter(name, max_age=max_age)
    if not isinstance(value, str) or not value:
        raise LookupError(f"parameter {name} is empty")
    return value


def dashboard_url(env: Mapping[str, str] = os.environ) -> str:
    """The dashboard's address: DASHBOARD_URL when the environment has it
    (schedules, local mode), else the SSM parameter DASHBOARD_URL_PARAMETER
    names (the user pool's trigger, whose environment cannot name the
    distribution); "" when neither is set."""
    if env.get("DASHBOARD_URL"):
        return env["DASHBOARD_URL"]
    name = env.get("DASHBOARD_URL_PARAMETER", "")
    return parameter_string(name) if name else ""


def clear_cache() -> None:
    """Forget cached values (tests; a container never needs it)."""
    parameters.clear_caches()
