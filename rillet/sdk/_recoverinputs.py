"""The inputs of a recovery: the old execution's recorded inputs checked against the
workflow's interface as it is today, with inputs given again (``--INPUT VALUE``)
taking precedence.

A workflow whose signature changed since the execution ran (an input added, removed
or retyped) gets a one-line error naming the input and how to supply it, never a
``KeyError`` or a decode error naming no input. It reads values; it runs nothing, and
it never unpickles: a recorded input of the type declared today is passed on by hash
(decoded by the engine when a node needs it), others are decoded without pickles.
"""

from __future__ import annotations

from typing import Any

from rillet.engine._records import ExecutionRecord
from rillet.engine._values import ValueStore
from rillet.errors import DefinitionError, ValueUnavailable
from rillet.types._compat import check_value, type_name
from rillet.types._descriptor import describe_name


def recovery_inputs(old: ExecutionRecord, wf: Any, values: ValueStore,
                    given: dict[str, Any]) -> dict[str, Any]:
    """The inputs a recovery of ``old`` runs ``wf`` with: ``given`` first, then what
    ``old`` recorded (when it still fits today's type), then today's defaults. Recorded
    inputs the workflow no longer declares are left out."""
    from rillet.types._descriptor import describe

    iface = wf.interface
    unknown = [k for k in given if k not in iface.inputs]
    if unknown:
        raise DefinitionError(
            f"workflow '{wf.short_name}' has no input {_flag(unknown[0])} (its inputs: "
            f"{', '.join(_flag(k) for k in iface.inputs) or 'none'})")
    recorded = values.store.artifacts([d for k, d in old.inputs.items() if k not in given])
    inputs: dict[str, Any] = dict(given)
    for name, tp in iface.inputs.items():
        if name in inputs:
            continue
        digest = old.inputs.get(name)
        if digest is None:
            if name in iface.defaults:
                continue  # resolve_inputs fills it
            raise DefinitionError(
                f"cannot recover execution {old.id}: workflow '{wf.short_name}' now requires "
                f"input '{name}' ({type_name(tp)}), which that execution did not have; give "
                f"it with {_flag(name)} VALUE")
        record = recorded.get(digest)
        was = describe_name(record.type) if record is not None else "unknown"
        why = values.unusable(digest, tp)  # recorded, bytes there and hashing to digest
        if why is not None:
            # not the store failing: a value that is gone (a 404 on the API, not a 503)
            raise ValueUnavailable(f"cannot recover execution {old.id}: its input '{name}': "
                                   f"its value {digest[:12]} is {why}; give it again with "
                                   f"{_flag(name)} VALUE", digest=digest, reason=why)
        if record is not None and record.type == describe(tp):
            # Same type: not decoded here (recovery plans without running a pickle); the
            # engine decodes it when a node that runs needs it.
            inputs[name] = values.ref(digest, tp)
            continue
        try:
            value = values.load(digest, tp, unpickle=False)
        except Exception:
            value = _MISFIT
        if value is _MISFIT or (record is not None and record.type != describe(tp)
                                and not check_value(value, tp)):
            raise DefinitionError(
                f"cannot recover execution {old.id}: its input '{name}' was recorded as {was}"
                f" but workflow '{wf.short_name}' now declares {type_name(tp)}; give it with "
                f"{_flag(name)} VALUE")
        inputs[name] = value
    result: dict[str, Any] = wf.resolve_inputs((), inputs)
    return result


_MISFIT: Any = object()


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")
