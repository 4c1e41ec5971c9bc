"""ModelDeployment operator: safe, drift-aware rollouts of ML models on Kubernetes and Azure ML."""
