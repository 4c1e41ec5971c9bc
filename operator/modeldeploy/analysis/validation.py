"""Pre-traffic validation: a health check and sample requests sent to one Ready revision, answers judged.

The revision is reached where it answers alone (``ServingBackend.scoring_address``: its own Service on
Kubernetes, the endpoint's scoring URI with the deployment header on Azure ML), never through the traffic
split, so it is judged while it has no traffic. Redirects are not followed (``modeldeploy.http``).

Verdicts: Failed when the revision answered wrongly (status, a missing path, a type, a golden value out of
tolerance), Error when it could not be reached or answered 502/503/504 (a gateway or a pod not yet
serving: retried by the machine up to ``validation.errorLimit``), Successful when every check passed.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modeldeploy.api.duration import parse_duration
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import CheckResult, ValidationResult, Verdict, truncate
from modeldeploy.api.validation import MAX_REQUESTS, Evaluation, ResponseCheck, SampleRequest, Validation
from modeldeploy.http import OPENER
from modeldeploy.ports import Owner, ScoringAddress
from modeldeploy.rollout.actions import ValidateRevision

from .evaluation import Unreachable, WrongAnswer, evaluate, load_rows

MAX_RESPONSE = 1 << 20  # a model's answer to a sample request; more is a wrong answer, not a reason to OOM
_TRANSIENT = {502, 503, 504}
_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]+)\]")

AddressOf = Callable[[Owner, ModelDeploymentSpec, str], ScoringAddress]
ReadDocument = Callable[[Owner, ModelDeploymentSpec, str], bytes]
# A golden set from requestsUri may hold more requests than the CRD lets a spec inline.
MAX_FILE_REQUESTS = 10 * MAX_REQUESTS


class _Unreachable(Exception):
    """The request did not get an answer worth judging (connection, timeout, 502/503/504)."""


def lookup(doc: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of a ``$.a.b[0]`` path in a parsed JSON document."""
    value = doc
    for key, index in _PART.findall(path[1:]):
        if key:
            if not isinstance(value, dict) or key not in value:
                return False, None
            value = value[key]
        else:
            i = int(index)
            if not isinstance(value, list) or i >= len(value):
                return False, None
            value = value[i]
    return True, value


_TYPES: dict[str, Callable[[Any], bool]] = {
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def check_value(doc: Any, check: ResponseCheck) -> str | None:
    """Why ``doc`` fails ``check``, or None when it passes."""
    found, value = lookup(doc, check.path)
    if not found:
        return f"{check.path} is missing"
    if check.type is not None and not _TYPES[check.type](value):
        return f"{check.path} is {_json_type(value)}, expected {check.type}"
    if check.value is not None:
        if not _TYPES["number"](value):
            return f"{check.path} is {_json_type(value)}, expected a number near {check.value:g}"
        tolerance = check.tolerance or 0.0
        if abs(float(value) - check.value) > tolerance:
            return f"{check.path} = {value:g}, expected {check.value:g} ± {tolerance:g}"
    return None


def _json_type(value: Any) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _TYPES[name](value):
            return name
    return type(value).__name__


@dataclass
class HttpValidator:
    """``RevisionValidator`` over HTTP. ``override`` (tests, local runs): a URL template with
    ``{namespace}``, ``{name}`` and ``{revision}`` used instead of the backend's address."""

    address: AddressOf
    override: str | None = None
    read: ReadDocument | None = None
    open: Callable[..., Any] = field(default=OPENER.open)

    def validate(
        self, owner: Owner, spec: ModelDeploymentSpec, request: ValidateRevision, now: datetime
    ) -> ValidationResult:
        v = spec.validation
        if v is None:  # the spec changed since the decision; the machine will not ask again
            return ValidationResult(revision=request.revision, time=now, verdict=Verdict.SUCCESSFUL)
        try:
            where = self._address(owner, spec, request.revision)
        except Exception as exc:
            msg = f"no address for revision {request.revision}: {exc}"
            return ValidationResult(revision=request.revision, time=now, verdict=Verdict.ERROR, message=msg)
        try:
            requests = v.requests + self._golden(owner, spec, v)
        except Exception as exc:  # unreadable, not granted, not a list of requests: the spec's problem
            msg = f"validation.requestsUri: {exc}"
            return ValidationResult(revision=request.revision, time=now, verdict=Verdict.ERROR, message=msg)
        timeout = parse_duration(v.timeout)
        checks: list[CheckResult] = []
        if v.health_path is not None:
            checks.append(self._health(where, v.health_path, timeout))
        checks += [self._sample(where, r, timeout) for r in requests]
        if v.evaluation is not None:
            checks += self._evaluate(owner, spec, v.evaluation, where, request.stable, timeout)
        return summarise(request.revision, now, checks)

    def _evaluate(
        self,
        owner: Owner,
        spec: ModelDeploymentSpec,
        e: Evaluation,
        where: ScoringAddress,
        stable: str | None,
        timeout: float,
    ) -> list[CheckResult]:
        try:
            if self.read is None:
                raise RuntimeError("this operator cannot read data URIs")
            rows = load_rows(self.read(owner, spec, e.data_uri), e, e.format or _suffix(e.data_uri))
            theirs = self._address(owner, spec, stable) if stable is not None else None
        except Exception as exc:  # unreadable, not granted, no such column: the spec's problem, said so
            return [CheckResult(name="evaluation", verdict=Verdict.ERROR, message=f"evaluation: {exc}")]
        path = e.path or where.scoring_path
        send_stable = self._json_sender(theirs, timeout) if theirs is not None else None
        return evaluate(e, rows, self._json_sender(where, timeout), send_stable, path)

    def _json_sender(self, where: ScoringAddress, timeout: float) -> Callable[[str, bytes], Any]:
        def send(path: str, body: bytes) -> Any:
            try:
                status, answer = self._send(where, path, body, timeout)
            except _Unreachable as exc:
                raise Unreachable(str(exc)) from exc
            if status != 200:
                raise WrongAnswer(f"POST {path} answered {status}: {answer[:200].decode(errors='replace')}")
            try:
                return json.loads(answer)
            except ValueError as exc:
                raise WrongAnswer(f"POST {path}: the answer is not JSON") from exc

        return send

    def _golden(self, owner: Owner, spec: ModelDeploymentSpec, v: Validation) -> list[SampleRequest]:
        if v.requests_uri is None:
            return []
        if self.read is None:
            raise RuntimeError("this operator cannot read data URIs")
        doc = json.loads(self.read(owner, spec, v.requests_uri))
        if not isinstance(doc, list) or len(doc) > MAX_FILE_REQUESTS:
            raise ValueError(f"expected a JSON list of at most {MAX_FILE_REQUESTS} requests")
        return [SampleRequest.model_validate(item) for item in doc]

    def _address(self, owner: Owner, spec: ModelDeploymentSpec, revision: str) -> ScoringAddress:
        if self.override:
            base = self.override.format(namespace=owner.namespace, name=owner.name, revision=revision)
            return ScoringAddress(base.rstrip("/"))
        return self.address(owner, spec, revision)

    def _health(self, where: ScoringAddress, path: str, timeout: float) -> CheckResult:
        try:
            status, _ = self._send(where, path, None, timeout)
        except _Unreachable as exc:
            return CheckResult(name="health", verdict=Verdict.ERROR, message=str(exc))
        if not 200 <= status < 300:
            return CheckResult(name="health", verdict=Verdict.FAILED, message=f"GET {path} answered {status}")
        return CheckResult(name="health", verdict=Verdict.SUCCESSFUL, message=f"GET {path} answered {status}")

    def _sample(self, where: ScoringAddress, r: SampleRequest, timeout: float) -> CheckResult:
        path = r.path or where.scoring_path
        try:
            status, body = self._send(where, path, r.body.encode(), timeout)
        except _Unreachable as exc:
            return CheckResult(name=r.name, verdict=Verdict.ERROR, message=str(exc))
        if status != r.expect_status:
            snippet = body[:200].decode(errors="replace")
            msg = f"POST {path} answered {status}, expected {r.expect_status}: {snippet}".rstrip(": ")
            return CheckResult(name=r.name, verdict=Verdict.FAILED, message=msg)
        if r.expect:
            try:
                doc = json.loads(body)
            except ValueError:
                return CheckResult(name=r.name, verdict=Verdict.FAILED, message="the answer is not JSON")
            problems = [p for p in (check_value(doc, c) for c in r.expect) if p is not None]
            if problems:
                return CheckResult(name=r.name, verdict=Verdict.FAILED, message="; ".join(problems))
        return CheckResult(name=r.name, verdict=Verdict.SUCCESSFUL, message=f"{len(r.expect)} checks passed")

    def _send(
        self, where: ScoringAddress, path: str, data: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        headers = dict(where.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(where.base_url + path, data=data, headers=headers)
        try:
            with self.open(req, timeout=timeout) as resp:
                return int(resp.status), resp.read(MAX_RESPONSE + 1)[:MAX_RESPONSE]
        except urllib.error.HTTPError as exc:
            if exc.code in _TRANSIENT:
                raise _Unreachable(f"{path} answered {exc.code} (not serving yet?)") from exc
            return exc.code, exc.read(MAX_RESPONSE)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Unreachable(f"{where.base_url}{path} unreachable: {reason}") from exc


def _suffix(uri: str) -> str:
    suffix = uri.rsplit("?", 1)[0].rsplit(".", 1)[-1].lower()
    if suffix not in ("csv", "parquet", "jsonl"):
        raise ValueError(f"{uri}: set validation.evaluation.format (csv, parquet or jsonl)")
    return suffix


def summarise(revision: str, now: datetime, checks: list[CheckResult]) -> ValidationResult:
    """One verdict: Failed if any check failed, else Error if any could not run, else Successful."""
    bad = [c for c in checks if c.verdict is not Verdict.SUCCESSFUL]
    if any(c.verdict is Verdict.FAILED for c in bad):
        verdict = Verdict.FAILED
    elif bad:
        verdict = Verdict.ERROR
    else:
        verdict = Verdict.SUCCESSFUL
    message = "; ".join(f"{c.name}: {c.message}" for c in bad) or f"{len(checks)} checks passed"
    return ValidationResult(
        revision=revision, time=now, verdict=verdict, message=truncate(message), checks=checks
    )
