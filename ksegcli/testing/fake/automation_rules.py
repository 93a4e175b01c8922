"""The Automation API's rules for bodies, ids, paging arguments and filters."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ksegcli.testing.fake.calls import ApiError, _Call, _is_int, _norm
from ksegcli.testing.fake.facts import (
    CUSTOM_DATA_FORMATS,
    CUSTOM_DATA_METHODS,
    CUSTOM_DATA_SCOPES,
    CUSTOM_DATA_TYPES,
    FILTER_OPERATORS,
    GOAL_TYPES,
    SITE_TYPES,
)
from ksegcli.testing.fake.state import JSONDict

# ---------------------------------------------------------------------------
# Field validation for Kameleoon bodies: (kind, allowed values) per field.
# ---------------------------------------------------------------------------
_FieldSpec = tuple[str, tuple[str, ...]]

_CUSTOM_DATA_SPEC: dict[str, _FieldSpec] = {
    "name": ("name", ()),
    "siteId": ("int", ()),
    "description": ("str", ()),
    "type": ("enum", CUSTOM_DATA_TYPES),
    "format": ("enum", CUSTOM_DATA_FORMATS),
    "method": ("enum", CUSTOM_DATA_METHODS),
    "customEvalCode": ("str?", ()),
    "scope": ("enum", CUSTOM_DATA_SCOPES),
    "isLocalOnly": ("bool", ()),
    "isConstant": ("bool", ()),
}
_CUSTOM_DATA_REQUIRED = ("name", "siteId", "type", "format", "method")
_CUSTOM_DATA_DEFAULTS: JSONDict = {
    "description": "",
    "customEvalCode": None,
    "scope": "VISITOR",
    "isLocalOnly": False,
    "isConstant": False,
}
_GOAL_SPEC: dict[str, _FieldSpec] = {
    "name": ("name", ()),
    "siteId": ("int", ()),
    "type": ("enum", GOAL_TYPES),
    "hasMultipleConversions": ("bool", ()),
    "description": ("str", ()),
}
_SITE_PATCH_SPEC: dict[str, _FieldSpec] = {
    "name": ("name", ()),
    "url": ("str", ()),
    "type": ("enum", SITE_TYPES),
    "trackingScript": ("str?", ()),
    "description": ("str", ()),
}
_CAMPAIGN_PATCH_SPEC: dict[str, _FieldSpec] = {
    "name": ("name", ()),
    "description": ("str", ()),
    "tags": ("list", ()),
    "trackingTools": ("list", ()),
    "goals": ("list", ()),
    "mainGoalId": ("int?", ()),
}


def _validate(body: Any, spec: Mapping[str, _FieldSpec], required: Sequence[str] = ()) -> JSONDict:
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    for key in body:
        if key not in spec:
            raise ApiError(400, f"Unrecognized field '{key}'", field=key)
    for key in required:
        if body.get(key) is None:
            raise ApiError(400, f"Field '{key}' is required", field=key)
    for key, value in body.items():
        kind, allowed = spec[key]
        ok = {
            "name": isinstance(value, str) and value.strip() != "",
            "str": isinstance(value, str),
            "str?": value is None or isinstance(value, str),
            "int": _is_int(value),
            "int?": value is None or _is_int(value),
            "bool": isinstance(value, bool),
            "list": isinstance(value, list),
            "enum": value in allowed,
        }[kind]
        if not ok:
            expected = {
                "name": "a non-empty string",
                "str": "a string",
                "str?": "a string or null",
                "int": "an integer",
                "int?": "an integer or null",
                "bool": "a boolean",
                "list": "an array",
                "enum": "one of " + ", ".join(allowed),
            }[kind]
            raise ApiError(400, f"Field '{key}' must be {expected}", field=key)
    return body


def _parse_id(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise ApiError(400, f"Invalid id '{raw[:40]}': an integer is expected")
    return int(raw)


def _int_arg(call: _Call, name: str, default: int, minimum: int, maximum: int | None) -> int:
    raw = call.arg(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise ApiError(400, f"Parameter '{name}' must be an integer")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ApiError(400, f"Parameter '{name}' must be {bound}")
    return value


_Filter = tuple[str, str, list[Any]]


def _parse_filter(
    raw: str | None, filterable: frozenset[str], *, in_supported: bool = True
) -> list[_Filter]:
    if raw is None or raw == "":
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Parameter 'filter' must be a JSON array") from None
    if not isinstance(parsed, list):
        raise ApiError(400, "Parameter 'filter' must be a JSON array")
    out: list[_Filter] = []
    for n, item in enumerate(parsed):
        if not isinstance(item, dict) or set(item) - {"field", "operator", "parameters"}:
            raise ApiError(
                400, f"filter[{n}] must be an object with field, operator and parameters"
            )
        fld, op, params = item.get("field"), item.get("operator"), item.get("parameters")
        if fld not in filterable:
            raise ApiError(
                400,
                f"filter[{n}]: cannot filter on field '{fld}'; use one of "
                + ", ".join(sorted(filterable)),
            )
        operators = FILTER_OPERATORS if in_supported else ("EQUAL", "NOT_EQUAL")
        if op not in operators:
            raise ApiError(
                400,
                f"filter[{n}]: unknown operator '{op}'; use one of " + ", ".join(operators),
            )
        if not isinstance(params, list) or not params:
            raise ApiError(400, f"filter[{n}]: parameters must be a non-empty array")
        # Without IN, EQUAL takes an array of values (the form of Kameleoon's tutorials).
        if op != "IN" and len(params) != 1 and (in_supported or op != "EQUAL"):
            raise ApiError(400, f"filter[{n}]: {op} takes exactly one parameter")
        out.append((str(fld), str(op), params))
    return out


def _matches(item: Mapping[str, Any], filters: Sequence[_Filter]) -> bool:
    for fld, op, params in filters:
        value = _norm(item.get(fld))
        wanted = {_norm(p) for p in params}
        if (op == "NOT_EQUAL") == (value in wanted):
            return False
    return True


def _check_custom_code(item: Mapping[str, Any]) -> None:
    if item.get("method") == "CUSTOM_CODE":
        code = item.get("customEvalCode")
        if not isinstance(code, str) or not code.strip():
            raise ApiError(
                400,
                "Field 'customEvalCode' is required when method is CUSTOM_CODE",
                field="customEvalCode",
            )
