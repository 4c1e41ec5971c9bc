"""The stacks (`dev`, `prod`, `stack`) come from tests/conftest.py: evaluated once per session under mocks and
shared with tests/seam; tests read the recorded resource graph."""
