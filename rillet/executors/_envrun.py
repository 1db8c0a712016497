"""The child side of a task run in its environment: ``python -m rillet.executors._envrun
RESULT`` reads a pickled (job, collect_failures) on stdin, runs the attempt here, and
writes the pickled AttemptResult to RESULT. Its output is the attempt's output."""

from __future__ import annotations

import sys


def main() -> int:
    import cloudpickle

    from rillet.executors._run import run_attempt

    job, collect_failures = cloudpickle.loads(sys.stdin.buffer.read())
    result = run_attempt(job, capture="sys", apply_timeout=False,
                         collect_failures=collect_failures)
    with open(sys.argv[1], "wb") as fh:
        fh.write(cloudpickle.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
