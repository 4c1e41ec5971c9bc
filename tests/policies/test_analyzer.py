"""The pack behind pulumi-policy's own analyzer service, as `pulumi preview --policy-pack` drives it: policy
info and schemas over protobuf, engine config, unknown values in preview, property dependencies."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from kdap_policies.pack import DEFAULT_ENFORCEMENT, PACK_NAME, RULE_NAMES, build_policies
from tests.policies.cases import compliant_stack, tags

STORAGE = "azure-native:storage:StorageAccount"


def _servicer() -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", build_policies(), DEFAULT_ENFORCEMENT)


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(props)
    return out


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:prod::kdap::{type_}::{name}"


def _storage(**overrides: Any) -> dict[str, Any]:
    (storage,) = [r for r in compliant_stack("prod") if r.type == STORAGE]
    return {**storage.props, **overrides}


def _analyze(servicer: _PolicyAnalyzerServicer, props: dict[str, Any]) -> list[Any]:
    request = proto.AnalyzeRequest(
        type=STORAGE, properties=_struct(props), urn=_urn(STORAGE, "st"), name="st"
    )
    return list(servicer.Analyze(request, None).diagnostics)


def test_analyzer_info_lists_every_policy_with_schema_and_link() -> None:
    info = _servicer().GetAnalyzerInfo(None, None)
    by_name = {p.name: p for p in info.policies}
    assert list(by_name) == list(RULE_NAMES)
    tls = by_name["storage-minimum-tls"]
    assert tls.enforcementLevel == proto.MANDATORY
    assert tls.url.endswith("fe83a0eb-a853-422d-aac2-1bffd182c5d0")
    assert dict(tls.configSchema.properties["minimumTlsVersion"])["enum"] == ["TLS1_2", "TLS1_3"]
    assert by_name["endpoint-alerts"].policy_type == proto.POLICY_TYPE_STACK
    assert by_name["rbac-no-privileged-roles"].severity == proto.POLICY_SEVERITY_CRITICAL
    assert by_name["required-tags"].severity == proto.POLICY_SEVERITY_LOW


def test_engine_config_sets_threshold_and_enforcement_level() -> None:
    servicer = _servicer()
    assert _analyze(servicer, _storage()) == []
    config = proto.PolicyConfig(
        enforcementLevel=proto.ADVISORY, properties=_struct({"minimumTlsVersion": "TLS1_3"})
    )
    servicer.Configure(proto.ConfigureAnalyzerRequest(policyConfig={"storage-minimum-tls": config}), None)
    (diagnostic,) = _analyze(servicer, _storage())
    assert diagnostic.policyName == "storage-minimum-tls"
    assert diagnostic.enforcementLevel == proto.ADVISORY
    assert "StorageAccount 'st': minimumTlsVersion is 'TLS1_2', below TLS1_3" in diagnostic.message


def test_unknown_value_in_preview_is_not_judged_a_violation() -> None:
    (diagnostic,) = _analyze(_servicer(), _storage(minimumTlsVersion=UNKNOWN_STRING_VALUE))
    assert diagnostic.policyName == "storage-minimum-tls"
    assert diagnostic.enforcementLevel == proto.ADVISORY
    assert "can't be known during preview" in diagnostic.message


def _vault_and_logs(dependency: bool) -> list[Any]:
    vault_type, diag_type = "azure-native:keyvault:Vault", "azure-native:monitor:DiagnosticSetting"
    vault = proto.AnalyzerResource(
        type=vault_type,
        name="vault",
        urn=_urn(vault_type, "vault"),
        properties=_struct({"properties": {"enablePurgeProtection": True}, "tags": tags("prod")}),
    )
    deps = {"resourceUri": proto.AnalyzerPropertyDependencies(urns=[vault.urn])} if dependency else {}
    logs = proto.AnalyzerResource(
        type=diag_type,
        name="vault-logs",
        urn=_urn(diag_type, "vault-logs"),
        propertyDependencies=deps,
        properties=_struct(
            {
                "resourceUri": UNKNOWN_STRING_VALUE,
                "workspaceId": UNKNOWN_STRING_VALUE,
                "logs": [{"categoryGroup": "allLogs", "enabled": True}],
            }
        ),
    )
    request = proto.AnalyzeStackRequest(resources=[vault, logs])
    diagnostics = _servicer().AnalyzeStack(request, None).diagnostics
    return [d for d in diagnostics if d.policyName == "diagnostics-to-log-analytics"]


def test_preview_links_diagnostic_settings_by_property_dependency() -> None:
    assert _vault_and_logs(dependency=True) == []
    (diagnostic,) = _vault_and_logs(dependency=False)
    assert diagnostic.urn == _urn("azure-native:keyvault:Vault", "vault")
    assert "Vault 'vault': diagnosticSettings include none" in diagnostic.message
