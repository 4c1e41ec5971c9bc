"""The rollout state machine: pure decisions over a ModelDeployment's status (see ``machine.decide``)."""

from modeldeploy.rollout.inputs import Decision, Inputs, names_to_observe
from modeldeploy.rollout.machine import decide
from modeldeploy.rollout.plan import RolloutPlan, Step
from modeldeploy.rollout.revision import DesiredRevision

__all__ = ["Decision", "DesiredRevision", "Inputs", "RolloutPlan", "Step", "decide", "names_to_observe"]
