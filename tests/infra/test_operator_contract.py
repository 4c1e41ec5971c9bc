"""What the operator takes from the stack: the Log Analytics workspace id its diagnostic settings target."""

from __future__ import annotations

import re

from kdap_infra.testing import ProgramRun
from modeldeploy.api.patterns import LOG_ANALYTICS_WORKSPACE_ID


def test_the_log_analytics_output_is_what_target_azureml_log_analytics_workspace_id_accepts(
    stack: ProgramRun,
) -> None:
    workspace_id = stack.outputs["log_analytics_id"]
    assert re.match(LOG_ANALYTICS_WORKSPACE_ID, workspace_id), workspace_id
    (workspace,) = stack.of_type("azure-native:operationalinsights:Workspace")
    assert workspace_id.rsplit("/", 1)[1] == workspace.inputs["workspaceName"]
