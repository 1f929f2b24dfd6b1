"""The OpenAPI document is valid and describes every route the app serves."""
from __future__ import annotations

import json

from openapi_spec_validator import validate


def test_document_is_valid_openapi_and_covers_every_route(api):
    import app as app_module
    r = api.client.http.get("/v1/openapi.json")
    assert r.status_code == 200
    doc = json.loads(r.body)
    validate(doc)
    served = {path for path in app_module.app.routes if path != "/v1/health"}
    assert served <= set(doc["paths"]), served - set(doc["paths"])
    for path, methods in app_module.app.routes.items():
        if path in doc["paths"]:
            for method in methods:
                if method not in ("OPTIONS",):
                    assert method.lower() in doc["paths"][path], (path, method)


def test_report_contracts_are_in_the_document(api):
    doc = json.loads(api.client.http.get("/v1/openapi.json").body)
    live = doc["components"]["schemas"]["LiveReport"]["required"]
    assert {"totals", "breakdowns", "executions", "series", "rates", "window"} <= set(live)
    glob = doc["components"]["schemas"]["GlobalReport"]["required"]
    assert {"totals", "distinct", "top_links", "errors_by_type", "errors_by_domain", "by_domain"} <= set(glob)
