"""The kopf side of the operator: thin handlers around one idempotent reconcile."""
