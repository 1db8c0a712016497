import { describe, expect, it } from "vitest";
import { comparedDetail, type ComparedExecution, type ExecutionDetail, type NodeShape } from "./api";
import { compareRows, curves, shown } from "./compare";

const node = (node_id: string, params: Record<string, unknown>, metrics: Record<string, unknown>[]): NodeShape => ({
  node_id, task: `wf:${node_id}`, kind: "task", status: "SUCCEEDED", attempts: 1, started_at: 1, ended_at: 2,
  duration: 1, cache_key: null, source_execution: null, source_node: null, inputs: {}, outputs: {}, error: null,
  params, metrics,
});

const execution = (id: string, n: number, lr: number, losses: number[]): ExecutionDetail => ({
  execution_id: id, workflow: "wf:train", source: "file", status: "SUCCEEDED", parent_id: null, error: null,
  inputs: { n: "h1", data: "h2" }, outputs: null, created_at: 1, started_at: 10, ended_at: 12,
  input_values: { n, data: { type: "DataFrame", hash: "abcdef0123456789", size: 100, uri: null, format: "parquet", pickled: false } },
  nodes: [node("fit", { lr }, losses.map((value, step) => ({ key: "loss", value, step })))],
});

describe("compareRows", () => {
  it("puts inputs, params and final metrics side by side and marks the rows that differ", () => {
    const rows = compareRows([execution("a", 3, 0.1, [3, 2, 1]), execution("b", 3, 0.2, [4, 2])]);
    const byName = Object.fromEntries(rows.map((r) => [`${r.section}:${r.name}`, r]));
    expect(byName["execution:workflow"]).toMatchObject({ cells: ["wf:train", "wf:train"], differs: false });
    expect(byName["input:n"]).toMatchObject({ cells: ["3", "3"], differs: false });
    expect(byName["input:data"]?.cells[0]).toBe("DataFrame, 100 bytes (abcdef0123)");
    expect(byName["param:fit.lr"]).toMatchObject({ cells: ["0.1", "0.2"], differs: true });
    // the last step's value: 1 (step 2) and 2 (step 1)
    expect(byName["metric:fit.loss"]).toMatchObject({ cells: ["1", "2"], differs: true });
  });

  it("shows a value one execution lacks as a dash", () => {
    const a = execution("a", 1, 0.1, [1]);
    const b = { ...execution("b", 1, 0.1, []), nodes: [node("fit", {}, [])] };
    const rows = compareRows([a, b]);
    expect(rows.find((r) => r.name === "fit.lr")).toMatchObject({ cells: ["0.1", "–"], differs: true });
    expect(shown(undefined)).toBe("–");
  });
});

const compared = (id: string, metrics: ComparedExecution["metrics"]): ComparedExecution => ({
  execution_id: id, workflow: "wf:train", status: "SUCCEEDED", created_at: 1, started_at: 10, ended_at: 12,
  inputs: {}, input_values: {}, params: { fit: { lr: 0.1 } }, metrics,
});
const loss = (values: number[], steps?: (number | null)[]) => ({ fit: { loss: { steps: steps ?? values.map((_, s) => s), values } } });

describe("curves", () => {
  it("aligns each execution's points on the union of the steps", () => {
    const [a] = curves([compared("a", loss([3, 2, 1])), compared("b", loss([5, 4]))]);
    expect(a).toEqual({ name: "fit.loss", x: [0, 1, 2], ys: [[3, 2, 1], [5, 4, null]] });
    const [b] = curves([compared("a", loss([3, 2], [0, 10])), compared("b", loss([5, 4], [5, 10]))]);
    expect(b).toEqual({ name: "fit.loss", x: [0, 5, 10], ys: [[3, null, 2], [null, 5, 4]] });
    const [c] = curves([compared("a", loss([3])), compared("b", {})]);  // b logged none
    expect(c).toEqual({ name: "fit.loss", x: [0], ys: [[3], [null]] });
  });

  it("numbers unstepped points by position, a step given twice keeps its last value", () => {
    expect(curves([compared("a", loss([0.5, 0.7], [null, null]))])).toEqual([{ name: "fit.loss", x: [0, 1], ys: [[0.5, 0.7]] }]);
    expect(curves([compared("a", loss([1, 2, 3], [0, 1, 1]))])).toEqual([{ name: "fit.loss", x: [0, 1], ys: [[1, 3]] }]);
  });

  it("gives each compared execution's final metric to the rows: the last point of its highest step", () => {
    const rows = compareRows([compared("a", loss([3, 9, 1], [0, 2, 1])), compared("b", loss([4, 2]))].map(comparedDetail));
    expect(rows.find((r) => r.name === "fit.loss")).toMatchObject({ cells: ["9", "2"], differs: true });
    expect(rows.find((r) => r.name === "fit.lr")).toMatchObject({ cells: ["0.1", "0.1"], differs: false });
  });

  it("handles 100 executions of 1,000 steps: the shared steps are the curves as they are", () => {
    const many = Array.from({ length: 100 }, (_, i) => compared(`e${i}`, loss(Array.from({ length: 1000 }, (_, s) => s * i))));
    const [a] = curves(many);
    expect(a?.x.length).toBe(1000);
    expect(a?.ys.length).toBe(100);
    expect(a?.ys[3]).toBe(many[3]?.metrics.fit?.loss?.values);
  });
});
