"""CrossGuard policies that keep the Azure ML platform safe."""
