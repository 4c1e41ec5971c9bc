"""Retraining fired once per confirmed drift: a CloudEvent to a webhook, or an Azure ML pipeline job."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from modeldeploy.api.spec import EventRetrain, ModelDeploymentSpec, PipelineRetrain
from modeldeploy.api.status import ModelDeploymentStatus, truncate
from modeldeploy.http import OPENER
from modeldeploy.ports import BackendError, EventSink, Owner, Retrainer
from modeldeploy.retry import RetryPolicy
from modeldeploy.rollout.actions import EventType, FireRetraining
from modeldeploy.rollout.conditions import retraining_condition, set_condition

Post = Callable[[urllib.request.Request], None]


def _post(request: urllib.request.Request) -> None:
    # The answer's body is never read (only its status), so a webhook cannot make the operator read much.
    with OPENER.open(request, timeout=10) as resp:
        if resp.status >= 300:
            raise BackendError("RetrainingEventRejected", f"{request.full_url} answered HTTP {resp.status}")


def cloud_event(
    owner: Owner, spec: ModelDeploymentSpec, request: FireRetraining, now: datetime, type_: str
) -> dict[str, Any]:
    """A CloudEvents 1.0 structured-mode body naming the deployment, revision and drifting features."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{owner.uid}/{request.drift_id}")),
        "source": f"/apis/mlops.kdap.io/v1alpha1/namespaces/{owner.namespace}/modeldeployments/{owner.name}",
        "type": type_,
        "time": now.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "model": spec.model.name,
            "modelVersion": spec.model.version,
            "revision": request.revision,
            "driftId": request.drift_id,
            "features": list(request.features),
        },
    }


class DefaultRetrainer:
    def __init__(
        self, api: client.ApiClient | None, post: Post = _post, submit: Callable[..., str] | None = None
    ) -> None:
        self._api = api
        self._post = post
        self._submit = submit

    def fire(self, owner: Owner, spec: ModelDeploymentSpec, request: FireRetraining, now: datetime) -> str:
        retrain = spec.rollback.retrain
        if retrain is None:
            return "nothing (spec.rollback.retrain is not set)"
        if retrain.event is not None:
            return self._fire_event(owner, spec, request, now, retrain.event)
        assert retrain.azureml_pipeline is not None
        return self._fire_pipeline(owner, spec, request, retrain.azureml_pipeline)

    def _fire_event(
        self,
        owner: Owner,
        spec: ModelDeploymentSpec,
        request: FireRetraining,
        now: datetime,
        event: EventRetrain,
    ) -> str:
        body = cloud_event(owner, spec, request, now, event.event_type)
        headers = {"Content-Type": "application/cloudevents+json"}
        if event.secret_ref:
            headers["Authorization"] = f"Bearer {self._token(owner.namespace, event.secret_ref)}"
        req = urllib.request.Request(
            event.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            self._post(req)
        except OSError as exc:
            raise BackendError("RetrainingEventFailed", f"POST {event.url}: {exc}") from exc
        return f"CloudEvent {body['id']}"

    def _token(self, namespace: str, secret: str) -> str:
        if self._api is None:
            raise BackendError(
                "RetrainingSecretUnavailable", "no Kubernetes client to read the retraining secret"
            )
        try:
            data = client.CoreV1Api(self._api).read_namespaced_secret(secret, namespace).data or {}
        except ApiException as exc:
            # 404 (no such Secret) or 403 (no RoleBinding to modeldeploy-retraining-secrets here): said on
            # the object, and retried with backoff in case the Secret or the grant comes later.
            raise BackendError(
                "RetrainingSecretUnreadable",
                f"cannot read Secret {namespace}/{secret} (rollback.retrain.event.secretRef): HTTP "
                f"{exc.status} {exc.reason}",
            ) from exc
        if "token" not in data:
            raise BackendError(
                "RetrainingSecretInvalid",
                f"Secret {namespace}/{secret} has no 'token' key (rollback.retrain.event.secretRef)",
                False,
            )
        return base64.b64decode(data["token"]).decode()

    def _fire_pipeline(
        self, owner: Owner, spec: ModelDeploymentSpec, request: FireRetraining, job: PipelineRetrain
    ) -> str:
        if self._submit is None:
            from modeldeploy.controller.azureml_jobs import submit_pipeline

            self._submit = submit_pipeline
        return self._submit(owner, spec, request, job)


# A failed retraining call (webhook down, Secret unreadable, pipeline refused) is tried again from the
# status at 30s, 1m, 2m, 4m, 8m; after the 6th attempt the RetrainingDelivered condition says it gave up.
RETRAIN_RETRY = RetryPolicy(attempts=6, base_delay=30.0, max_delay=1800.0)


def record_delivery(
    retraining: Retrainer,
    events: EventSink,
    owner: Owner,
    spec: ModelDeploymentSpec,
    action: FireRetraining,
    now: datetime,
    status: ModelDeploymentStatus,
) -> ModelDeploymentStatus | None:
    """Fire retraining; the status recording how it went (delivered, or failed with the next attempt backed
    off by RETRAIN_RETRY and given up after the last, as a condition and an Event). None: the status moved on
    (a newer drift) since the decision, nothing to do."""
    trigger = status.retraining
    if trigger is None or trigger.drift_id != action.drift_id:
        return None
    attempts = trigger.attempts + 1
    try:
        ref = retraining.fire(owner, spec, action, now)
    except Exception as exc:
        error = exc.message if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
        last = attempts >= RETRAIN_RETRY.attempts
        retry_at = None if last else now + timedelta(seconds=RETRAIN_RETRY.delay(attempts))
        update: dict[str, object] = {
            "attempts": attempts,
            "last_error": truncate(error),
            "retry_at": retry_at,
        }
        when = "giving up" if retry_at is None else f"next attempt at {retry_at:%H:%M:%S}Z"
        msg = f"retraining for drift {action.drift_id} failed (attempt {attempts}, {when}): {error}"
        events.emit(owner, EventType.WARNING, "RetrainingFailed", msg)
    else:
        update = {"attempts": attempts, "delivered": True, "last_error": "", "retry_at": None}
        features = ", ".join(action.features) or "prediction"
        events.emit(owner, EventType.NORMAL, "RetrainingTriggered", f"drift in {features}: started {ref}")
    trigger = trigger.model_copy(update=update)
    out = status.model_copy(update={"retraining": trigger})
    condition = retraining_condition(trigger, status.observed_generation or 1)
    if condition is not None:
        out = out.model_copy(update={"conditions": set_condition(out.conditions, condition, now)})
    return out


def retry_wait(status: ModelDeploymentStatus, now: datetime) -> float | None:
    """Seconds until a failed retraining call's next attempt (set after the decision chose when to wake)."""
    r = status.retraining
    if r is None or r.delivered or r.retry_at is None or r.retry_at <= now:
        return None
    return (r.retry_at - now).total_seconds()
