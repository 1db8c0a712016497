"""The one exception tree of rillet.

Every error rillet raises on purpose is one of these; user code's own exceptions
are wrapped in :class:`UserCodeError` with ``__cause__`` kept. This module imports
nothing from the rest of the package.

::

    RilletError
    ├── DefinitionError                 a task or workflow is defined wrongly
    │   ├── CompileError                the DAG cannot be built (unbound input, bool(promise), ...)
    │   └── TypeMismatchError           (also TypeError) a value or output has the wrong type
    ├── UserCodeError                   the user's task raised; .execution_id, .node_id, __cause__
    ├── StoreError                      the metadata or artifact store refused
    │   ├── NotFound
    │   │   └── ValueUnavailable        a value's bytes are missing, pruned or corrupt
    │   ├── AlreadyExists
    │   ├── Conflict
    │   └── AmbiguousId                 (also ValueError) an id prefix matches several
    ├── ExecutorError                   an executor could not run an attempt (killed, timed out)
    │   └── TaskTimeoutError            (also TimeoutError) an attempt ran past its timeout
    └── AuthError

    RecoverableError                    raised by user code to ask for a retry
"""

from __future__ import annotations


class RilletError(Exception):
    """Root of every error rillet raises on purpose."""


class DefinitionError(RilletError):
    """A task, workflow or launch plan is defined wrongly; never retried."""


class CompileError(DefinitionError):
    """A workflow body cannot be compiled into a DAG."""

    @classmethod
    def at(cls, where: str, what: str, fix: str = "") -> CompileError:
        message = f"{where}: {what}" if where else what
        return cls(f"{message}. {fix}" if fix else message)


class TypeMismatchError(DefinitionError, TypeError):
    """A value, binding or output does not have the declared type."""

    @classmethod
    def for_binding(
        cls, where: str, node: str, input_name: str, expected: str, got: str
    ) -> TypeMismatchError:
        prefix = f"{where}: " if where else ""
        return cls(
            f"{prefix}node '{node}' input '{input_name}' expects {expected}, got {got}"
        )

    @classmethod
    def for_comparison(
        cls, where: str, left: str, left_type: str, op: str, right: str, right_type: str
    ) -> TypeMismatchError:
        prefix = f"{where}: " if where else ""
        return cls(
            f"{prefix}cannot compare {left} ({left_type}) {op} {right} ({right_type}): "
            "the types do not match. Compare with a value of the promise's type"
        )


class UserCodeError(RilletError):
    """The user's task code raised; the original exception is ``__cause__``.

    ``node_id`` is the node that failed (``sub/inc`` inside subworkflow node
    ``sub``); ``error_type`` and ``error_message`` describe the original error.
    ``retryable`` is False for an error that another attempt would meet again
    (a map whose inputs have different lengths).
    """

    def __init__(
        self,
        message: str,
        *,
        execution_id: str | None = None,
        node_id: str | None = None,
        error_type: str | None = None,
        error_message: str | None = None,
        retryable: bool = True,
    ) -> None:
        super().__init__(message)
        self.execution_id = execution_id
        self.node_id = node_id
        self.error_type = error_type
        self.error_message = error_message
        self.retryable = retryable


class StoreError(RilletError):
    """The metadata or artifact store refused an operation."""


class NotFound(StoreError, LookupError):
    """A record that was asked for does not exist."""


class ValueUnavailable(NotFound):
    """A stored value cannot be used: its bytes are gone (``reason`` "missing"), were
    pruned ("pruned"), or do not hash to the digest they are stored under ("corrupt").
    The engine treats it as a miss (the node runs again); nothing decodes such bytes."""

    def __init__(self, message: str, *, digest: str = "", uri: str | None = None,
                 reason: str = "missing") -> None:
        super().__init__(message)
        self.digest = digest
        self.uri = uri
        self.reason = reason


class AlreadyExists(StoreError):
    """A record with this identity exists already."""


class Conflict(StoreError):
    """A record exists with different content, or a concurrent writer won."""


class AmbiguousId(StoreError, ValueError):
    """A prefix of an id matches more than one record: the caller gives more of it."""


class LeaseLost(RilletError):
    """A writer whose lease on an execution another owner now holds: a fenced engine (a
    platform worker's) finding so at a renewal, or the store refusing its write (the
    execution's upsert holds only for the lease's owner, an unowned execution or a lapsed
    lease). Nothing of the refused batch is written; the new owner finishes the
    execution. Not a ``StoreError``: the store did not fail, the writer lost its right."""

    def __init__(self, execution_id: str, owner: str, holder: str | None = None) -> None:
        held = f" ({holder} holds it)" if holder else ""
        super().__init__(f"execution {execution_id}: {owner} lost its lease{held}; another "
                         "owner took the execution over and its attempts were stopped")
        self.execution_id = execution_id
        self.owner = owner


class ExecutionEnded(LeaseLost):
    """A write that would change the status of an execution that has already ended
    (SUCCEEDED, FAILED, ABORTED): an engine finishing one that was aborted meanwhile, an
    abort or a reaper racing the engine's own end. The store refuses the whole batch;
    the first end stands. A ``LeaseLost``: the writer stops as it would for a lost
    lease (its attempts killed, nothing more written)."""

    def __init__(self, execution_id: str, ended: str, written: str) -> None:
        RilletError.__init__(self, f"execution {execution_id} already ended {ended}; "
                                   f"its status stays (a write of {written} was refused)")
        self.execution_id = execution_id
        self.owner = ""
        self.ended = ended
        self.written = written


class ExecutorError(RilletError):
    """An executor could not run or finish an attempt."""


class TaskTimeoutError(ExecutorError, TimeoutError):
    """An attempt ran past its task's timeout and was stopped."""


class AuthError(RilletError):
    """Missing or insufficient credentials."""


class RecoverableError(Exception):
    """Raise from a task to ask for another attempt (within the task's ``retries``)."""
