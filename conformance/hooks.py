"""schemathesis hooks: the spec's status-code and response-schema checks, letting through
exactly the deliberate differences listed in spec/deviations.json (each with its reason).

scripts/schemathesis.sh sets ACCESSD_FAMILY (v3, beta, v1, v2024, ...) to the family whose spec file
is under test, and loads this file with SCHEMATHESIS_HOOKS.
"""

import functools
import json
import os
import pathlib
import re

import schemathesis
from schemathesis.specs.openapi.checks import (allow_header_conformance, negative_data_rejection,
                                               response_schema_conformance, status_code_conformance)

DEVIATIONS = json.loads(
    (pathlib.Path(__file__).resolve().parent.parent / "spec" / "deviations.json").read_text())
FAMILY = os.environ.get("ACCESSD_FAMILY", "")


def _is(pattern, value):
    return pattern == "*" or pattern == value


def _operation_id(case):
    return case.operation.definition.raw.get("operationId", "")


def _undeclared_status_allowed(case, status):
    operation = _operation_id(case)
    return any(_is(d["family"], FAMILY) and _is(d["operation"], operation) and d["status"] == status
               for d in DEVIATIONS["undeclaredStatuses"])


def _pointer_matches(pattern, path):
    """`*` in the pattern matches one array index."""
    parts = [str(p) for p in path]
    wanted = pattern.split("/")[1:]
    return len(parts) == len(wanted) and all(
        w == p or (w == "*" and re.fullmatch(r"\d+", p)) for w, p in zip(wanted, parts))


def _schema_error_allowed(case, status, error):
    operation = _operation_id(case)
    keyword = str(list(error.schema_path)[-1]) if list(error.schema_path) else ""
    return any(d["family"] == FAMILY and d["operation"] == operation and status in d["statuses"]
               and d["keyword"] == keyword and _pointer_matches(d["pointer"], error.instance_path)
               for d in DEVIATIONS["schemaDeviations"])


def _failures(exc):
    """The failures a check raised: one, or the members of a group."""
    return list(getattr(exc, "exceptions", None) or [exc])


@schemathesis.check
def status_code_with_deviations(ctx, response, case):
    """status_code_conformance, but a status listed in undeclaredStatuses passes."""
    try:
        return status_code_conformance(ctx, response, case)
    except Exception as exc:  # noqa: BLE001 - re-raised unless every failure is a listed deviation
        if all(getattr(f, "status_code", None) is not None
               and _undeclared_status_allowed(case, f.status_code) for f in _failures(exc)):
            return None
        raise


@schemathesis.check
def response_schema_with_deviations(ctx, response, case):
    """response_schema_conformance, but an error listed in schemaDeviations passes."""
    try:
        return response_schema_conformance(ctx, response, case)
    except Exception as exc:  # noqa: BLE001 - re-raised unless every failure is a listed deviation
        failures = _failures(exc)
        if all(hasattr(f, "instance_path") and _schema_error_allowed(case, response.status_code, f)
               for f in failures):
            return None
        raise


@functools.cache
def _spec_paths():
    """The paths of the family's spec file, read once."""
    spec = pathlib.Path(__file__).resolve().parent.parent / "spec" / f"{FAMILY}.json"
    return json.loads(spec.read_text())["paths"]


def _not_served(path, methods):
    """Whether every one of these methods of this path is an operation listed in notServed."""
    entry = _spec_paths().get(path, {})
    listed = {n["operation"] for n in DEVIATIONS["notServed"] if n["family"] == FAMILY}
    return all(entry.get(m.lower(), {}).get("operationId") in listed for m in methods)


@schemathesis.check
def allow_header_with_deviations(ctx, response, case):
    """allow_header_conformance, but a method missing from `Allow` may be a notServed operation."""
    try:
        return allow_header_conformance(ctx, response, case)
    except Exception as exc:  # noqa: BLE001 - re-raised unless every failure is a listed deviation
        if all(not getattr(f, "undocumented_methods", ["?"]) and f.missing_methods
               and _not_served(case.operation.path, f.missing_methods) for f in _failures(exc)):
            return None
        raise


_NULL_PROPERTY = re.compile(r"in body - (?:array with invalid items: )?([^\s:]+): Incorrect type")


def _null_is_absent(case, failure):
    """The negative value was a null for a body property: absent, by requestNullIsAbsent."""
    match = _NULL_PROPERTY.search(getattr(failure, "message", ""))
    if not match or "requestNullIsAbsent" not in DEVIATIONS:
        return False
    name = match.group(1)
    bodies = case.body if isinstance(case.body, list) else [case.body]
    return any(isinstance(b, dict) and name in b and b[name] is None for b in bodies)


@schemathesis.check
def negative_data_with_deviations(ctx, response, case):
    """negative_data_rejection, but an optional property sent as null is absent."""
    try:
        return negative_data_rejection(ctx, response, case)
    except Exception as exc:  # noqa: BLE001 - re-raised unless every failure is a listed deviation
        if all(_null_is_absent(case, f) for f in _failures(exc)):
            return None
        raise
