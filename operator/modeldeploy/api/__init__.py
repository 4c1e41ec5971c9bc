"""The ModelDeployment API: spec and status models, and the CRD generated from them."""
