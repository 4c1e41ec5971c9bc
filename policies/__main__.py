"""Entry point Pulumi runs for `pulumi preview --policy-pack policies`."""

from pulumi_policy import PolicyPack

from kdap_policies.pack import DEFAULT_ENFORCEMENT, PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    policies=build_policies(),
    enforcement_level=DEFAULT_ENFORCEMENT,
    description="Keeps kdap's Azure ML platform within Azure Policy's security baseline, and past it.",
)
