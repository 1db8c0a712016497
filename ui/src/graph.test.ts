import { describe, expect, it } from "vitest";
import type { NodeShape } from "./api";
import { collapse, groups, inferEdges, layout, PENDING, withPlan } from "./graph";
import { valueText } from "./format";
import { applyEvent, detailPolling } from "./live";

function node(id: string, inputs: Record<string, string>, outputs: Record<string, string>, t: number): NodeShape {
  return {
    node_id: id, task: `m:${id}`, kind: "task", status: "SUCCEEDED", attempts: 1,
    started_at: t, ended_at: t + 0.5, duration: 0.5, cache_key: null, source_execution: null,
    source_node: null, inputs, outputs, error: null, params: {}, metrics: [],
  };
}

const diamond = [
  node("load", { n: "h-n" }, { o0: "h-xs" }, 0),
  node("total", { xs: "h-xs" }, { o0: "h-10" }, 1),
  node("biggest", { xs: "h-xs" }, { o0: "h-4" }, 1),
  node("report", { s: "h-10", m: "h-4" }, { o0: "h-r" }, 2),
];

describe("the DAG of recorded values", () => {
  it("links each consumer to the producer of its input hash", () => {
    const edges = inferEdges(diamond).map((e) => `${e.source}>${e.target}`).sort();
    expect(edges).toEqual(["biggest>report", "load>biggest", "load>total", "total>report"]);
  });

  it("never links a node to one that started before the producer ended", () => {
    const early = node("early", { x: "h-xs" }, {}, -5);
    expect(inferEdges([diamond[0]!, early])).toEqual([]);
  });

  it("lays the nodes out left to right by rank", () => {
    const ids = diamond.map((n) => n.node_id);
    const at = Object.fromEntries(layout(ids, inferEdges(diamond)).map((p) => [p.id, p]));
    expect(at.load!.x).toBeLessThan(at.total!.x);
    expect(at.total!.x).toBe(at.biggest!.x);
    expect(at.total!.x).toBeLessThan(at.report!.x);
    expect(at.total!.y).not.toBe(at.biggest!.y);
  });
});

describe("values and events", () => {
  it("shows inline JSON values as compact JSON and other values by format", () => {
    expect(valueText("10", "json", 2)).toBe("10");
    expect(valueText('"sum=10"', "json", 8)).toBe('"sum=10"');
    expect(valueText("[0, 1, 2]", "json", 9)).toBe("[0,1,2]");
    expect(valueText(null, "parquet", 2048)).toBe("parquet, 2048 bytes");
    expect(valueText("x".repeat(300), "json", 300).length).toBe(201);
  });

  it("applies a node event to its node only, and an execution event to the execution", () => {
    const detail = {
      execution_id: "e1", workflow: "m:wf", source: "wf.py", status: "RUNNING", parent_id: null,
      error: null, inputs: {}, outputs: null, created_at: 0, started_at: 0, ended_at: null,
      nodes: diamond,
    };
    const ev = { seq: 1, execution_id: "e1", node_id: "total", kind: "node", status: "FAILED", at: 1, data: {} };
    const after = applyEvent(detail, ev);
    expect(after.nodes.find((n) => n.node_id === "total")!.status).toBe("FAILED");
    expect(after.nodes.find((n) => n.node_id === "load")!.status).toBe("SUCCEEDED");
    expect(applyEvent(detail, { ...ev, kind: "execution", node_id: "", status: "ABORTED" }).status).toBe("ABORTED");
  });
});

describe("subworkflows and dynamic children", () => {
  // outer: load -> inner (a subworkflow: inner/a -> inner/b, its join "inner") -> report
  const sub = [
    node("load", {}, { o: "h-1" }, 0),
    node("inner/a", { x: "h-1" }, { o: "h-2" }, 1),
    node("inner/b", { x: "h-2" }, { o: "h-3" }, 2),
    node("inner", { x: "h-3" }, { o: "h-3" }, 3),
    node("report", { x: "h-3" }, { o: "h-4" }, 4),
  ];

  it("counts the nodes inside each group", () => {
    expect(Object.fromEntries(groups(sub))).toEqual({ inner: 2 });
  });

  it("draws a closed group as its one node, its edges moved to it; open, every node", () => {
    const closed = collapse(sub, inferEdges(sub), new Set());
    expect(closed.nodes.map((n) => n.node_id)).toEqual(["load", "inner", "report"]);
    expect(closed.edges.map((e) => `${e.source}>${e.target}`).sort()).toEqual(["inner>report", "load>inner"]);
    const open = collapse(sub, inferEdges(sub), new Set(["inner"]));
    expect(open.nodes).toHaveLength(5);
    expect(open.edges.map((e) => `${e.source}>${e.target}`)).toContain("inner/a>inner/b");
  });
});

describe("the DAG from the execution's IR", () => {
  const plan = {
    execution_id: "e1", planned: true, source: "recorded",
    nodes: ["load", "total", "biggest", "report", "fan"].map((id) => ({ node_id: id, kind: id === "fan" ? "dynamic" : "task", task: `m:${id}` })),
    edges: [
      { source: "load", target: "total" }, { source: "load", target: "biggest" },
      { source: "total", target: "report" }, { source: "biggest", target: "report" },
      { source: "report", target: "fan" },
    ],
  };

  it("draws every node of the IR, those not started as PENDING, with the IR's edges", () => {
    const drawn = withPlan([diamond[0]!], plan);
    expect(drawn.nodes.map((n) => `${n.node_id}:${n.status}`)).toEqual([
      "load:SUCCEEDED", `total:${PENDING}`, `biggest:${PENDING}`, `report:${PENDING}`, `fan:${PENDING}`]);
    expect(drawn.nodes[4]).toMatchObject({ kind: "dynamic", task: "m:fan", attempts: 0, outputs: {} });
    expect(drawn.edges).toEqual(plan.edges);
    // nothing recorded yet (a queued launch): all of it, laid out left to right
    const queued = withPlan([], plan);
    const at = Object.fromEntries(layout(queued.nodes.map((n) => n.node_id), queued.edges).map((p) => [p.id, p.x]));
    expect(at.load!).toBeLessThan(at.total!);
    expect(at.report!).toBeLessThan(at.fan!);
  });

  it("adds the recorded nodes the IR cannot name (a dynamic's children) with their data-flow edges", () => {
    const child = node("fan/sq", { x: "h-r" }, { o0: "h-s" }, 3);
    const drawn = withPlan([...diamond, child], plan);
    expect(drawn.nodes.map((n) => n.node_id)).toEqual(["load", "total", "biggest", "report", "fan", "fan/sq"]);
    expect(drawn.edges).toContainEqual({ source: "report", target: "fan/sq" });
    expect(drawn.edges).toHaveLength(6); // the IR's 5, no data-flow duplicate of them
  });

  it("without an IR, the recorded nodes and their data-flow edges", () => {
    const none = { ...plan, planned: false, nodes: [], edges: [] };
    expect(withPlan(diamond, none)).toEqual({ nodes: diamond, edges: inferEdges(diamond) });
    expect(withPlan(diamond, undefined).edges).toHaveLength(4);
  });
});

describe("polling after the end event", () => {
  const detail = {
    execution_id: "e1", workflow: "m:wf", source: "wf.py", status: "RUNNING", parent_id: null,
    error: null, inputs: {}, outputs: null, created_at: 0, started_at: 0, ended_at: null, nodes: diamond,
  };
  const end = { seq: 9, execution_id: "e1", node_id: "", kind: "execution", status: "SUCCEEDED", at: 1, data: {} };

  it("keeps polling an end known from the stream only, stops once the server said it", () => {
    expect(detailPolling(detail)).toBe(2000);
    const patched = applyEvent(detail, end);
    expect(patched).toMatchObject({ status: "SUCCEEDED", patched: true });
    expect(detailPolling(patched)).toBe(2000);
    expect(detailPolling({ ...detail, status: "SUCCEEDED" })).toBe(false);
  });
});
