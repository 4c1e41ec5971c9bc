"""Foundation: resource group, Log Analytics, Application Insights, Storage, Key Vault, Container Registry."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import (
    applicationinsights,
    authorization,
    containerregistry,
    keyvault,
    operationalinsights,
    resources,
    storage,
)

from kdap_infra.diagnostics import activity_log_to_log_analytics, send_to_log_analytics
from kdap_infra.naming import Naming
from kdap_infra.site import Site


class Foundation(pulumi.ComponentResource):
    """Shared resources every other component builds on."""

    def __init__(
        self,
        name: str,
        site: Site,
        naming: Naming,
        log_retention_days: int,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:foundation:Foundation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = naming.tags
        self.resource_group = resources.ResourceGroup(
            "rg", resource_group_name=naming.name("rg"), location=site.location, tags=tags, opts=child
        )
        rg = self.resource_group.name
        self.log_analytics = operationalinsights.Workspace(
            "logs",
            workspace_name=naming.name("logs"),
            resource_group_name=rg,
            location=site.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=log_retention_days,
            tags=tags,
            opts=child,
        )
        self.app_insights = applicationinsights.Component(
            "appi",
            resource_name_=naming.name("appi"),
            resource_group_name=rg,
            location=site.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=self.log_analytics.id,
            tags=tags,
            opts=child,
        )
        self.storage = self._storage(site, naming)
        self.key_vault = self._key_vault(site, naming)
        self.registry = self._registry(site, naming)
        self._diagnostics()
        # Audit: the subscription's activity log (who changed what) beside the resources' own logs.
        self.activity_log = activity_log_to_log_analytics(naming.stack, self.log_analytics.id, self)
        self._locks(site)
        self.register_outputs(
            {
                "resource_group_name": rg,
                "log_analytics_id": self.log_analytics.id,
                "app_insights_id": self.app_insights.id,
                "storage_id": self.storage.id,
                "key_vault_id": self.key_vault.id,
                "registry_id": self.registry.id,
            }
        )

    def _storage(self, site: Site, naming: Naming) -> storage.StorageAccount:
        account = storage.StorageAccount(
            "storage",
            account_name=naming.global_name("st"),
            resource_group_name=self.resource_group.name,
            location=site.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name="Standard_ZRS" if site.is_prod else "Standard_LRS"),
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            # Entra ID only: the workspace uses identity-based datastores, so no account keys are needed.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            public_network_access=site.public_access,
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action="Deny" if site.is_prod else "Allow", bypass="AzureServices"
            ),
            tags=naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        storage.BlobServiceProperties(
            "storage-blob",
            account_name=account.name,
            resource_group_name=self.resource_group.name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=14),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=14),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return account

    def _key_vault(self, site: Site, naming: Naming) -> keyvault.Vault:
        return keyvault.Vault(
            "vault",
            vault_name=naming.hyphen_global_name("kv"),
            resource_group_name=self.resource_group.name,
            location=site.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=site.tenant_id,
                sku=keyvault.SkuArgs(family="A", name="premium" if site.is_prod else "standard"),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=90,
                enable_purge_protection=True,
                public_network_access=site.public_access,
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action="Deny" if site.is_prod else "Allow", bypass="AzureServices"
                ),
            ),
            tags=naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _registry(self, site: Site, naming: Naming) -> containerregistry.Registry:
        return containerregistry.Registry(
            "registry",
            registry_name=naming.global_name("acr", max_len=50),
            resource_group_name=self.resource_group.name,
            location=site.location,
            # Premium is what a managed-network workspace and private endpoints require.
            sku=containerregistry.SkuArgs(name="Premium" if site.is_prod else "Standard"),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access=site.public_access,
            network_rule_bypass_options="AzureServices",
            policies=self._registry_policies(site.is_prod),
            tags=naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _registry_policies(is_prod: bool) -> containerregistry.PoliciesArgs | None:
        if not is_prod:
            return None  # these policies need the Premium tier
        return containerregistry.PoliciesArgs(
            # No `az acr import`/export path around the private network; untagged manifests expire.
            export_policy=containerregistry.ExportPolicyArgs(status="disabled"),
            retention_policy=containerregistry.RetentionPolicyArgs(status="enabled", days=30),
        )

    def _locks(self, site: Site) -> None:
        """Prod data (training data, models, audit logs) cannot be deleted by a stray `pulumi destroy`."""
        if not site.is_prod:
            return
        for key, target in (("storage", self.storage.id), ("logs", self.log_analytics.id)):
            authorization.ManagementLockByScope(
                f"lock-{key}",
                lock_name="do-not-delete",
                level="CanNotDelete",
                scope=target,
                notes="kdap prod data: remove this lock deliberately before deleting",
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _diagnostics(self) -> None:
        workspace_id = self.log_analytics.id
        blob_service_id = self.storage.id.apply(lambda i: f"{i}/blobServices/default")
        targets: list[tuple[str, pulumi.Input[str], str | None]] = [
            ("logs", self.log_analytics.id, "audit"),
            ("appi", self.app_insights.id, "allLogs"),
            ("storage", self.storage.id, None),  # the account level emits metrics only
            ("storage-blob", blob_service_id, "allLogs"),
            ("vault", self.key_vault.id, "allLogs"),
            ("registry", self.registry.id, "allLogs"),
        ]
        for name, target, group in targets:
            send_to_log_analytics(
                name, target_id=target, workspace_id=workspace_id, parent=self, log_group=group
            )
