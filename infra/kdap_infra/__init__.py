"""Pulumi components that provision the Azure Machine Learning platform."""
