"""``flytekit.core.workflow``."""

from rillet.sdk._imperative import ImperativeWorkflow
from rillet.sdk._workflow import Workflow, WorkflowFailurePolicy, workflow

__all__ = ["ImperativeWorkflow", "Workflow", "WorkflowFailurePolicy", "workflow"]
