"""The OpenAPI paths of experiments (merged into openapi.py's document)."""
from __future__ import annotations

from typing import Any, Callable

from .. import catalogue
from .report import MAX_SERIES_POINTS
from .settings import SettingsBody

_VARIANT = {"type": "object", "properties": {
    "variant": {"type": "string"}, "people": {"type": "integer", "description": "exact distinct profiles"},
    "successes": {"type": "number", "description": "exact distinct people with the action (revenue: its sum)"},
    "rate": {"type": ["number", "null"], "description": "successes ÷ people (null for revenue)"},
    "value": {"type": ["number", "null"], "description": "revenue per person (null for 0/1 metrics)"},
    "lift": {"type": ["number", "null"], "description": "(treatment − baseline) ÷ baseline; null for the baseline"},
    "difference": {"type": ["number", "null"], "description": "treatment − baseline in the metric's unit"},
    "lower": {"type": ["number", "null"], "description": "anytime-valid lower bound of the difference (this look)"},
    "upper": {"type": ["number", "null"], "description": "anytime-valid upper bound of the difference (this look)"},
    "confidence": {"type": ["number", "null"], "description": "1 − the anytime-valid p-value (Bonferroni-adjusted)"}}}

EXPERIMENT = {"type": "object", "required": ["campaign_id", "channel", "metric", "direction", "baseline", "status",
                                             "variants", "series"], "properties": {
    "campaign_id": {"type": "string"}, "channel": {"type": "string", "enum": list(catalogue.CHANNELS)},
    "metric": {"type": "string", "enum": list(catalogue.EXPERIMENT_METRICS)},
    "direction": {"type": "string", "enum": ["higher", "lower"]},
    "baseline": {"type": ["string", "null"]}, "confidence_level": {"type": "number", "enum": [0.9, 0.95, 0.99]},
    "status": {"type": "string", "enum": ["none", "running", "winner", "inconclusive"]},
    "winner": {"type": ["string", "null"]}, "started": {"type": ["string", "null"], "format": "date-time"},
    "contaminated_profiles": {"type": "integer", "description": "profiles sent two variants (counted in the first)"},
    "sample_ratio": {"type": ["object", "null"], "description": "planned vs observed shares, anytime-valid p_value, "
                                                              "mismatch (p < 0.001); null without planned shares"},
    "currency": {"type": ["string", "null"], "description": "the campaign's currency (ISO 4217) for revenue; "
                                                           "null for other metrics"},
    "method": {"type": "string"}, "variants": {"type": "array", "items": _VARIANT},
    "series": {"type": "array", "maxItems": MAX_SERIES_POINTS,
               "description": "a point per minute with data in the last 24 h, per hour before: what the report said "
                              f"at the end of it; at most {MAX_SERIES_POINTS} points (older looks thin to the last of each day, "
                              "then of each week; every look still counts in the statistics)",
               "items": {"type": "object", "properties": {
                   "t": {"type": "string", "format": "date-time"},
                   "winner": {"type": ["string", "null"], "description": "the winner shown at the end of t (it stays)"},
                   "variants": {"type": "array", "items": _VARIANT}}}}}}


def experiment_paths(bearer: list[dict[str, Any]], error: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    campaign = {"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "string"}}
    channel = {"name": "channel", "in": "path", "required": True,
               "schema": {"type": "string", "enum": list(catalogue.CHANNELS)}}
    settings = {"type": "object", "description": "stored values (null: the default) and `effective` ones"}
    return {
        "/v1/campaigns/{campaign_id}/experiment": {"get": {
            "summary": "Which variant wins: exact people and successes per variant, anytime-valid bounds "
                       "(scope read; docs/experiments.md)", "security": bearer,
            "parameters": [campaign,
                           {"name": "channel", "in": "query", "schema": {"type": "string", "default": "email"}},
                           {"name": "metric", "in": "query", "schema": {
                               "type": "string", "enum": list(catalogue.EXPERIMENT_METRICS)}}],
            "responses": {"200": {"description": "The experiment report",
                                  "content": {"application/json": {"schema": EXPERIMENT}}},
                          "400": error("Unknown channel or metric"), "404": error("No such campaign")}}},
        "/v1/campaigns/{campaign_id}/experiments/{channel}": {
            "get": {"summary": "An experiment's settings (scope read)", "security": bearer,
                    "parameters": [campaign, channel],
                    "responses": {"200": {"description": "Settings", "content": {"application/json": {"schema": settings}}}}},
            "put": {"summary": "Set baseline, metric, confidence level, planned shares, attribution window, ended "
                               "(scope manage: editors and admins); a field set to null returns to its default",
                    "security": bearer, "parameters": [campaign, channel],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": SettingsBody.model_json_schema()}}},
                    "responses": {"200": {"description": "Settings", "content": {"application/json": {"schema": settings}}},
                                  "403": error("No manage scope"), "404": error("No such campaign"),
                                  "422": error("Invalid settings")}}},
    }
