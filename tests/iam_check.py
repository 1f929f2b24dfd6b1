"""Every AWS call a Lambda handler makes in a test, checked against the role
its function runs as in AWS (infra/cdk/permissions.py).

conftest.py patches botocore's ``_make_api_call`` for the whole session. For
each call it finds which Chalice function is running, from the Python stack
(the innermost frame that is a route view, the authorizer, an event handler or
a plain Lambda function of app.py), and checks the IAM action, and for
DynamoDB every item's partition key (``dynamodb:LeadingKeys``), against that
function's family. Calls made outside any handler (test setup, local mode's
pump) are not checked. A denied call is recorded, not raised (the handler
might swallow the error); the test fails at teardown and names the call.
"""
from __future__ import annotations

import importlib
import re
import sys
import threading
from dataclasses import dataclass
from types import CodeType
from typing import Any, Iterator

from infra.cdk import permissions

#: botocore service name -> IAM prefix and symbolic resource (non-DynamoDB
#: resources are checked by action; the synth tests check each grant's ARN).
SERVICES = {"dynamodb": ("dynamodb", permissions.TABLE), "kinesis": ("kinesis", permissions.STREAM),
            "sesv2": ("ses", permissions.SENDER_IDENTITY), "ses": ("ses", permissions.SENDER_IDENTITY),
            "cognito-idp": ("cognito-idp", permissions.USER_POOL),
            "secretsmanager": ("secretsmanager", permissions.UNSUBSCRIBE_SECRET),
            "ssm": ("ssm", permissions.DASHBOARD_URL_PARAMETER),
            # every management call (post, delete, get a connection) is authorised as ManageConnections
            "apigatewaymanagementapi": ("execute-api", permissions.SOCKET_API)}
#: API operations IAM authorises as another action (SQS's batch calls: "Amazon SQS API permissions").
AUTHORISED_AS = {"sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
                 "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility"}
_PK_CONDITION = re.compile(r"(#?\w+)\s*=\s*(:\w+)")


@dataclass(frozen=True)
class Call:
    function: str
    action: str
    resource: str
    partition: str | None = None

    def __str__(self) -> str:
        where = f" on partition {self.partition!r}" if self.partition is not None else ""
        return f"{self.function} called {self.action}{where}"


def _pk(key: dict[str, Any]) -> str | None:
    value = (key or {}).get("pk", {})
    return value.get("S") if isinstance(value, dict) else None


def _query_pk(params: dict[str, Any]) -> str | None:
    names = params.get("ExpressionAttributeNames", {})
    for name, placeholder in _PK_CONDITION.findall(params.get("KeyConditionExpression", "")):
        if names.get(name, name) == "pk":
            return _pk({"pk": params.get("ExpressionAttributeValues", {}).get(placeholder, {})})
    return None


def dynamodb_actions(operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(IAM action, partition) pairs that one DynamoDB request is authorised as."""
    if operation in ("GetItem", "DeleteItem", "UpdateItem"):
        yield f"dynamodb:{operation}", _pk(params.get("Key"))
    elif operation == "PutItem":
        yield "dynamodb:PutItem", _pk(params.get("Item"))
    elif operation == "Query":
        yield "dynamodb:Query", _query_pk(params)
    elif operation == "TransactWriteItems":
        for item in params.get("TransactItems", []):
            ((kind, body),) = item.items()
            action = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                      "ConditionCheck": "ConditionCheckItem"}[kind]
            yield f"dynamodb:{action}", _pk(body.get("Item") if kind == "Put" else body.get("Key"))
    elif operation == "TransactGetItems":
        for item in params.get("TransactItems", []):
            yield "dynamodb:GetItem", _pk(item["Get"].get("Key"))
    elif operation == "BatchGetItem":
        for request in params.get("RequestItems", {}).values():
            for key in request.get("Keys", []):
                yield "dynamodb:BatchGetItem", _pk(key)
    elif operation == "BatchWriteItem":
        for requests in params.get("RequestItems", {}).values():
            for r in requests:
                yield "dynamodb:BatchWriteItem", _pk(r.get("PutRequest", {}).get("Item")
                                                     or r.get("DeleteRequest", {}).get("Key"))
    else:
        yield f"dynamodb:{operation}", None


class Recorder:
    """Attributes calls to functions and keeps the ones their family denies."""

    def __init__(self) -> None:
        self._codes: dict[CodeType, str] = {}
        self._app_id: int | None = None
        self._lock = threading.Lock()
        self.denied: list[Call] = []
        self.checked = 0

    def _handler_codes(self) -> dict[CodeType, str]:
        module = sys.modules.get("app")
        app = getattr(module, "app", None)
        if app is None:
            return {}
        if self._app_id != id(app):
            self._codes, self._app_id = handler_codes(app), id(app)
        return self._codes

    def function_running(self) -> str | None:
        codes = self._handler_codes()
        if not codes:
            return None
        frame = sys._getframe(2)
        while frame is not None:
            name = codes.get(frame.f_code)
            if name:
                return name
            frame = frame.f_back
        return None

    def observe(self, service: str, operation: str, params: dict[str, Any]) -> None:
        function = self.function_running()
        if function is None:
            return
        family = permissions.family_of(function)
        prefix, resource = SERVICES.get(service, (service, service))
        if service == "dynamodb":
            calls = [Call(function, a, resource, pk) for a, pk in dynamodb_actions(operation, params)]
        elif service == "apigatewaymanagementapi":
            calls = [Call(function, "execute-api:ManageConnections", resource)]
        else:
            action = f"{prefix}:{operation}"
            calls = [Call(function, AUTHORISED_AS.get(action, action), resource)]
        with self._lock:
            for call in calls:
                self.checked += 1
                if family is None:
                    self.denied.append(call)
                elif service == "dynamodb":
                    if not family.allows(call.action, resource, call.partition):
                        self.denied.append(call)
                elif call.action not in family.actions():
                    self.denied.append(call)

    def take(self) -> list[Call]:
        with self._lock:
            out, self.denied = self.denied, []
        return out


def handler_codes(app: Any) -> dict[CodeType, str]:
    """Code object of every handler the Chalice app defines -> its function's
    logical id (what `chalice package` names the Lambda function)."""
    from chalice.utils import to_cfn_resource_name
    codes: dict[CodeType, str] = {}
    for methods in app.routes.values():
        for route in methods.values():
            codes[route.view_function.__code__] = "APIHandler"

    def add(handler_string: str, name: str) -> None:
        module_name, _, attr = handler_string.rpartition(".")
        target = getattr(importlib.import_module(module_name) if module_name != "app" else sys.modules["app"], attr,
                         None)
        func = getattr(target, "func", target)
        if func is not None and hasattr(func, "__code__"):
            codes[func.__code__] = to_cfn_resource_name(name)

    for auth in app.builtin_auth_handlers:
        add(auth.handler_string, auth.name)
    for source in app.event_sources:
        add(source.handler_string, source.name)
    for handler in getattr(app, "websocket_handlers", {}).values():  # the live channel's routes
        add(handler.handler_string, {"$connect": "websocket_connect", "$disconnect": "websocket_disconnect"}
            .get(handler.route_key_handled, "websocket_message"))
    for function in app.pure_lambda_functions:
        codes[function.func.__code__] = to_cfn_resource_name(function.name)
    return codes


RECORDER = Recorder()


def install() -> None:
    """Wrap botocore's request entry point once per process."""
    from botocore.client import BaseClient
    if getattr(BaseClient._make_api_call, "_iam_checked", False):
        return
    original = BaseClient._make_api_call

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        RECORDER.observe(self.meta.service_model.service_name, operation_name, api_params)
        return original(self, operation_name, api_params)

    _make_api_call._iam_checked = True  # type: ignore[attr-defined]
    BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]


def report(denied: list[Call]) -> str:
    lines = sorted({str(c) for c in denied})
    return ("calls the function's role does not allow in AWS (infra/cdk/permissions.py):\n  "
            + "\n  ".join(lines))
