"""In-cluster serving: a Deployment, Service and HPA per revision; traffic by a Gateway API HTTPRoute."""
