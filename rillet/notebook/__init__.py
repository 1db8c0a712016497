"""Notebooks as workflows: tagged cells are tasks, the variables that flow between them
are their typed inputs and outputs (see ``docs/notebooks.md``).

``load("nb.ipynb")`` returns a :class:`~rillet.Workflow` usable like any other: call it,
``rillet.run`` it, register it. Reading notebooks needs ``nbformat``
(``pip install 'rillet[notebook]'``).
"""

from __future__ import annotations

from rillet.notebook._cells import NotebookWarning
from rillet.notebook._load import NotebookWorkflow, StepTask, load

__all__ = ["NotebookWarning", "NotebookWorkflow", "StepTask", "load"]
