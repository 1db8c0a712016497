"""The IR a workflow compiles to: node ids, kinds, upstream, bindings; and determinism."""

import dataclasses
import functools
import time
from typing import NamedTuple

import pytest

from rillet import Workflow, conditional, dynamic, map_task, task, workflow
from rillet.compiler._spec import BoolOp, Comparison, Node, WorkflowSpec


class Parts(NamedTuple):
    left: list[int]
    right: list[int]


@task
def load(n: int) -> list[int]:
    return list(range(n))


@task
def halves(xs: list[int]) -> Parts:
    k = len(xs) // 2
    return Parts(left=xs[:k], right=xs[k:])


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def combine(a: int, b: int, weight: float = 0.5) -> float:
    return a * weight + b * (1 - weight)


@task
def inc(x: int) -> int:
    return x + 1


@task
def record(x: int) -> None:
    pass


def body(n: int, w: float = 0.25) -> float:
    xs = load(n=n)
    parts = halves(xs=xs)
    a = total(xs=parts.left)
    b = total(xs=parts.right)
    return combine(a=a, b=b, weight=w)


def shape(spec: WorkflowSpec) -> list[tuple]:
    return [
        (
            n.id,
            n.kind,
            n.entity_name.rsplit(":", 1)[-1],
            n.upstream,
            {k: (b.kind, b.ref, b.output, b.value) for k, b in n.inputs.items()},
        )
        for n in spec.nodes
    ]


def test_nodes_ids_kinds_upstream_and_bindings() -> None:
    wf = workflow(body)
    spec = wf.spec
    assert isinstance(spec, WorkflowSpec)
    assert spec.name == f"{__name__}:body"
    assert shape(spec) == [
        ("load", "task", "load", (), {"n": ("input", "n", "", None)}),
        ("halves", "task", "halves", ("load",), {"xs": ("node", "load", "o0", None)}),
        ("total", "task", "total", ("halves",), {"xs": ("node", "halves", "left", None)}),
        ("total-1", "task", "total", ("halves",), {"xs": ("node", "halves", "right", None)}),
        (
            "combine",
            "task",
            "combine",
            ("total", "total-1"),
            {
                "a": ("node", "total", "o0", None),
                "b": ("node", "total-1", "o0", None),
                "weight": ("input", "w", "", None),
            },
        ),
    ]
    assert {k: (b.kind, b.ref, b.output) for k, b in spec.outputs.items()} == {
        "o0": ("node", "combine", "o0")
    }
    assert spec.interface.inputs == {"n": int, "w": float}
    assert spec.interface.defaults == {"w": 0.25}
    assert spec.interface.outputs == {"o0": float}
    assert spec.nodes[1].outputs == {"left": list[int], "right": list[int]}
    assert spec.where.endswith(f"test_compile.py:{body.__code__.co_firstlineno}")
    assert spec.on_failure is None
    assert spec.node("halves") is spec.nodes[1]
    with pytest.raises(KeyError):
        spec.node("nope")


def test_binding_types() -> None:
    spec = workflow(body).spec
    combine_node = spec.node("combine")
    assert combine_node.inputs["a"].type is int
    assert combine_node.inputs["weight"].type is float
    assert spec.node("total").inputs["xs"].type == list[int]


def test_constants_defaults_and_collections() -> None:
    @workflow
    def wf(n: int) -> float:
        t = total(xs=[n, 3, inc(x=n)])
        return combine(a=t, b=2)

    t_node, = [n for n in wf.spec.nodes if n.id == "total"]
    xs = t_node.inputs["xs"]
    assert xs.kind == "list" and xs.type == list[int]
    assert [(i.kind, i.ref, i.value) for i in xs.items] == [
        ("input", "n", None),
        ("const", "", 3),
        ("node", "inc", None),
    ]
    assert t_node.upstream == ("inc",)
    c = wf.spec.node("combine").inputs
    assert (c["b"].kind, c["b"].value, c["b"].type) == ("const", 2, int)
    assert (c["weight"].kind, c["weight"].value) == ("const", 0.5)  # the task's default
    assert wf(n=1) == pytest.approx(0.5 * 6 + 0.5 * 2)


def test_dict_binding() -> None:
    @task
    def keys(d: dict[str, int]) -> list[str]:
        return sorted(d)

    @workflow
    def wf(n: int) -> list[str]:
        return keys(d={"a": n, "b": inc(x=n)})

    d = wf.spec.node("keys").inputs["d"]
    assert d.kind == "dict" and d.keys == ("a", "b")
    assert [i.kind for i in d.items] == ["input", "node"]
    assert wf(n=1) == ["a", "b"]


def test_repeated_calls_get_numbered_ids() -> None:
    @workflow
    def wf(x: int) -> int:
        for _ in range(3):
            x = inc(x=x)
        return x

    assert [n.id for n in wf.spec.nodes] == ["inc", "inc-1", "inc-2"]
    assert [n.upstream for n in wf.spec.nodes] == [(), ("inc",), ("inc-1",)]


def test_a_node_without_outputs() -> None:
    @workflow
    def wf(x: int) -> None:
        record(x=x)

    (node,) = wf.spec.nodes
    assert node.outputs == {} and wf.spec.outputs == {}


def test_subworkflow_map_branch_and_dynamic_nodes() -> None:
    sub = workflow(body)

    @dynamic
    def fan(k: int) -> list[int]:
        return [inc(x=i) for i in range(k)]

    @workflow
    def wf(n: int, flag: int) -> int:
        s = sub(n=n)
        xs = load(n=n)
        map_task(functools.partial(combine, b=1), concurrency=4)(a=xs)
        zs = fan(k=n)
        picked = (
            conditional("pick")
            .if_((flag > 0) & (s > 1.0))
            .then(total(xs=zs))
            .elif_(flag == -1)
            .then(inc(x=flag))
            .else_()
            .then(total(xs=xs))
        )
        record(x=total(xs=[picked]))
        return total(xs=map_task(inc)(x=load(n=picked)))

    nodes = {n.id: n for n in wf.spec.nodes}
    assert [n.id for n in wf.spec.nodes] == [
        "body", "load", "map-combine", "fan", "pick", "total-2", "record", "load-1",
        "map-inc", "total-3",
    ]
    assert nodes["body"].kind == "workflow" and nodes["body"].entity is sub
    assert isinstance(nodes["body"].entity, Workflow)
    m = nodes["map-combine"]
    assert m.kind == "map" and m.map is not None
    assert (m.map.mapped, m.map.concurrency, m.map.min_success_ratio) == (("a",), 4, 1.0)
    assert m.inputs["b"].kind == "const" and m.outputs == {"o0": list[float]}
    assert nodes["fan"].kind == "dynamic" and nodes["fan"].outputs == {"o0": list[int]}

    branch = nodes["pick"]
    assert branch.kind == "branch" and branch.entity is None
    assert branch.entity_name == "conditional:pick"
    # Upstream: what the conditions and the arms read, never the arms' own nodes.
    assert set(branch.upstream) == {"body", "fan", "load"}
    first, second, other = branch.cases
    assert isinstance(first.condition, BoolOp) and first.condition.op == "and"
    left = first.condition.left
    assert isinstance(left, Comparison) and left.op == ">"
    assert (left.left.kind, left.left.ref, left.right.kind, left.right.value) == (
        "input", "flag", "const", 0,
    )
    assert isinstance(second.condition, Comparison) and second.condition.op == "=="
    assert other.condition is None
    assert [[n.id for n in c.nodes] for c in branch.cases] == [["total"], ["inc"], ["total-1"]]
    assert {k: (b.kind, b.ref) for k, b in first.outputs.items()} == {"o0": ("node", "total")}
    assert branch.where.startswith(__file__ + ":")


def test_nodes_come_in_a_topological_order() -> None:
    spec = workflow(body).spec
    seen: set[str] = set()
    for node in spec.nodes:
        assert set(node.upstream) <= seen
        seen.add(node.id)


def test_compiling_the_same_body_twice_gives_equal_specs() -> None:
    a, b = workflow(body).spec, workflow(body).spec
    assert a is not b
    assert shape(a) == shape(b)
    assert a.nodes == b.nodes and a.outputs == b.outputs
    assert a == b


def test_compiling_is_deterministic_with_branches_and_maps() -> None:
    def with_branch(n: int) -> int:
        xs = map_task(inc)(x=load(n=n))
        return (
            conditional("c").if_(n > 2).then(total(xs=xs)).else_().then(inc(x=n))
        )

    a, b = workflow(with_branch).spec, workflow(with_branch).spec
    assert a == b


def test_the_spec_is_frozen() -> None:
    spec = workflow(body).spec
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.nodes[0].id = "x"  # type: ignore[misc]
    assert isinstance(spec.nodes, tuple) and all(isinstance(n, Node) for n in spec.nodes)


def test_compiling_runs_no_task() -> None:
    calls: list[int] = []

    @task
    def spy(x: int) -> int:
        calls.append(x)
        return x

    @workflow
    def wf(x: int) -> int:
        return spy(x=spy(x=x))

    assert calls == []
    assert wf(x=1) == 1 and calls == [1, 1]


def test_a_long_chain_compiles_without_recursion() -> None:
    def chain(x: int) -> int:
        for _ in range(5000):
            x = inc(x=x)
        return x

    started = time.perf_counter()
    wf = workflow(chain)
    assert time.perf_counter() - started < 2.0
    assert len(wf.spec.nodes) == 5000 and wf.spec.nodes[-1].id == "inc-4999"
    assert wf(x=0) == 5000
