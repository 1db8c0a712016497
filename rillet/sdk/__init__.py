"""What user code touches: task, workflow, dynamic, map_task, conditional, launch plans, run."""
