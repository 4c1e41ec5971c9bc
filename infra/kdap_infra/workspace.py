"""The Azure ML workspace: user-assigned identity, identity-based datastores, prod isolation, optional CMK."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import keyvault, managedidentity, storage
from pulumi_azure_native import machinelearningservices as ml

from kdap_infra.diagnostics import send_to_log_analytics
from kdap_infra.foundation import Foundation
from kdap_infra.site import Placement
from kdap_infra.workspace_config import WorkspaceConfig

# Containers the platform owns, each exposed as an identity-based datastore. Batch models write their runs'
# outputs to the batch one (azureml://datastores/batch_outputs/paths/<namespace>/<name>/...).
BATCH_OUTPUTS = "batch-outputs"
DATASTORES: dict[str, str] = {
    "training_data": "training-data",
    "inference_data": "inference-data",
    "batch_outputs": BATCH_OUTPUTS,
}
IMAGE_BUILD_CLUSTER = "cpu-spot"


def isolation_mode(is_prod: bool) -> str:
    """Prod egress goes only to approved destinations; dev may reach the internet (package mirrors)."""
    return "AllowOnlyApprovedOutbound" if is_prod else "AllowInternetOutbound"


def managed_network(config: WorkspaceConfig, is_prod: bool) -> ml.ManagedNetworkSettingsArgs:
    """Approved destinations become FQDN rules; they need the managed firewall, so it is added only then."""
    fqdns = config.approved_fqdns if is_prod else []
    rules = {
        f"allow-{fqdn.replace('*.', 'any-').replace('.', '-')}": ml.FqdnOutboundRuleArgs(
            type="FQDN", category="UserDefined", destination=fqdn
        )
        for fqdn in fqdns
    }
    return ml.ManagedNetworkSettingsArgs(
        isolation_mode=isolation_mode(is_prod),
        outbound_rules=rules or None,
        firewall_sku="Standard" if rules else None,
    )


def default_blob_container_id(storage_id: str, workspace_guid: str) -> str:
    """The container Azure ML creates for the workspace's default datastore (workspaceblobstore), where the
    SDK uploads a job's code: ``azureml-blobstore-<the workspace's immutable id>``."""
    return f"{storage_id}/blobServices/default/containers/azureml-blobstore-{workspace_guid}"


class MlWorkspace(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        place: Placement,
        config: WorkspaceConfig,
        foundation: Foundation,
        identity: managedidentity.UserAssignedIdentity,
        cmk_key: keyvault.Key | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:ml:MlWorkspace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        site, naming = place.site, place.naming
        self.workspace = ml.Workspace(
            "mlw",
            workspace_name=naming.name("mlw"),
            resource_group_name=place.resource_group_name,
            location=site.location,
            friendly_name=config.friendly_name,
            sku=ml.SkuArgs(name="Basic", tier="Basic"),
            identity=ml.ManagedServiceIdentityArgs(
                type="UserAssigned", user_assigned_identities=[identity.id]
            ),
            primary_user_assigned_identity=identity.id,
            storage_account=foundation.storage.id,
            key_vault=foundation.key_vault.id,
            application_insights=foundation.app_insights.id,
            container_registry=foundation.registry.id,
            # Shared-key access is off on the storage account, so system datastores must use Entra ID too.
            system_datastores_auth_mode="identity",
            public_network_access=site.public_access,
            allow_public_access_when_behind_vnet=False,
            managed_network=managed_network(config, site.is_prod),
            # Provision the managed VNet with the workspace, not lazily on the first compute.
            provision_network_now=site.is_prod,
            # The registry is closed to the public: images are built on a cluster in the managed network.
            image_build_compute=IMAGE_BUILD_CLUSTER,
            hbi_workspace=config.hbi,
            encryption=self._encryption(foundation, identity, cmk_key),
            v1_legacy_mode=False,
            tags=naming.tags,
            opts=child,
        )
        self.containers: dict[str, storage.BlobContainer] = {}
        self.datastores = [self._datastore(ds, container, foundation) for ds, container in DATASTORES.items()]
        self.default_container_id: pulumi.Output[str] = pulumi.Output.all(
            foundation.storage.id, self.workspace.workspace_id
        ).apply(lambda ids: default_blob_container_id(ids[0], ids[1]))
        send_to_log_analytics(
            "mlw", target_id=self.workspace.id, workspace_id=place.log_analytics_id, parent=self
        )
        self.register_outputs({"workspace_name": self.workspace.name, "workspace_id": self.workspace.id})

    @staticmethod
    def _encryption(
        foundation: Foundation, identity: managedidentity.UserAssignedIdentity, key: keyvault.Key | None
    ) -> ml.EncryptionPropertyArgs | None:
        if key is None:
            return None
        return ml.EncryptionPropertyArgs(
            status="Enabled",
            identity=ml.IdentityForCmkArgs(user_assigned_identity=identity.id),
            key_vault_properties=ml.KeyVaultPropertiesArgs(
                key_vault_arm_id=foundation.key_vault.id, key_identifier=key.key_uri_with_version
            ),
        )

    def _datastore(self, name: str, container_name: str, foundation: Foundation) -> ml.Datastore:
        container = storage.BlobContainer(
            f"container-{container_name}",
            container_name=container_name,
            account_name=foundation.storage.name,
            resource_group_name=foundation.resource_group.name,
            public_access="None",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.containers[container_name] = container
        return ml.Datastore(
            f"datastore-{container_name}",
            name=name,
            workspace_name=self.workspace.name,
            resource_group_name=foundation.resource_group.name,
            properties=ml.AzureBlobDatastoreArgs(
                datastore_type="AzureBlob",
                account_name=foundation.storage.name,
                container_name=container.name,
                endpoint="core.windows.net",
                protocol="https",
                # No stored secret: access runs as the caller's or the workspace's identity.
                credentials=ml.NoneDatastoreCredentialsArgs(credentials_type="None"),
                service_data_access_auth_identity="WorkspaceUserAssignedIdentity",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
