"""The Azure ML serving backend: managed and Kubernetes online endpoints through azure-ai-ml."""
