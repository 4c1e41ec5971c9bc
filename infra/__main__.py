"""`pulumi up` entry point: validate the stack's config, then build the platform and export its outputs."""

import pulumi

from kdap_infra.config import load_from_engine
from kdap_infra.program import build_platform

for key, value in build_platform(load_from_engine()).items():
    pulumi.export(key, value)
