"""What ModelDeployments reference besides endpoints: the AKS cluster attached to the workspace as Kubernetes
compute (for `endpointKind: kubernetes`) and the Azure ML registry shared models and environments come from.

Both names come from the platform contract / naming, so the examples and the operator's defaults agree.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import containerservice as cs
from pulumi_azure_native import kubernetesconfiguration as kc
from pulumi_azure_native import machinelearningservices as ml

from kdap_infra.site import Placement
from modeldeploy.api import platform

# Azure ML serves on AKS through this cluster extension; attaching without it leaves the compute unusable.
AML_EXTENSION_TYPE = "Microsoft.AzureML.Kubernetes"
AML_NAMESPACE = "azureml"


class KubernetesCompute(pulumi.ComponentResource):
    """The operator's AKS cluster, with the Azure ML extension (inference only), attached to the workspace."""

    def __init__(
        self,
        name: str,
        place: Placement,
        cluster: cs.ManagedCluster,
        workspace_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:ml:KubernetesCompute", name, None, opts)
        prod = place.site.is_prod
        self.extension = kc.Extension(
            "azureml-extension",
            extension_name="azureml",
            extension_type=AML_EXTENSION_TYPE,
            cluster_name=cluster.name,
            cluster_resource_name="managedClusters",
            cluster_rp="Microsoft.ContainerService",
            resource_group_name=place.resource_group_name,
            auto_upgrade_minor_version=True,
            release_train="stable",
            scope=kc.ScopeArgs(cluster=kc.ScopeClusterArgs(release_namespace=AML_NAMESPACE)),
            identity=kc.IdentityArgs(type="SystemAssigned"),
            configuration_settings={
                "enableTraining": "False",
                "enableInference": "True",
                # Scoring stays inside the VNet in prod; API Management reaches it privately.
                "inferenceRouterServiceType": "loadBalancer",
                "internalLoadBalancerProvider": "azure" if prod else "",
                "inferenceRouterHA": "True" if prod else "False",
                "allowInsecureConnections": "False",
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.compute = ml.Compute(
            "compute-aks",
            compute_name=platform.KUBERNETES_COMPUTE,
            workspace_name=workspace_name,
            resource_group_name=place.resource_group_name,
            location=place.site.location,
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            properties=ml.KubernetesArgs(
                compute_type="Kubernetes",
                resource_id=cluster.id,
                description="the operator's AKS cluster, for Kubernetes online endpoints",
                disable_local_auth=True,
                properties=ml.KubernetesPropertiesArgs(
                    namespace=AML_NAMESPACE, default_instance_type=platform.KUBERNETES_INSTANCE_TYPE
                ),
            ),
            tags=place.naming.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.extension]),
        )
        self.register_outputs({"compute_name": platform.KUBERNETES_COMPUTE})


class ModelRegistry(pulumi.ComponentResource):
    """An Azure ML registry (`azureml://registries/<name>/...`) for models, environments and components."""

    def __init__(self, name: str, place: Placement, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kdap:ml:ModelRegistry", name, None, opts)
        site = place.site
        self.registry = ml.Registry(
            "model-registry",
            registry_name=place.naming.registry_name(),
            resource_group_name=place.resource_group_name,
            location=site.location,
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            public_network_access=site.public_access,
            region_details=[
                ml.RegistryRegionArmDetailsArgs(
                    location=site.location,
                    acr_details=[
                        ml.AcrDetailsArgs(
                            system_created_acr_account=ml.SystemCreatedAcrAccountArgs(
                                acr_account_sku="Premium"
                            )
                        )
                    ],
                    storage_account_details=[
                        ml.StorageAccountDetailsArgs(
                            system_created_storage_account=ml.SystemCreatedStorageAccountArgs(
                                storage_account_type="Standard_ZRS" if site.is_prod else "Standard_LRS",
                                storage_account_hns_enabled=False,
                                allow_blob_public_access=False,
                            )
                        )
                    ],
                )
            ],
            tags=place.naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"registry_name": self.registry.name})
