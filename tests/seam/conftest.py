"""The stacks (`dev`, `prod`, `stack`) come from tests/conftest.py, evaluated once per session under
Pulumi mocks and shared with tests/infra; the seam tests read what each registered and exported."""
