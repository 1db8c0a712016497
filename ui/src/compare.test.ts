import { describe, expect, it } from "vitest";
import type { ExecutionDetail, NodeShape } from "./api";
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

describe("curves", () => {
  it("aligns each execution's points on the union of the steps", () => {
    const [loss] = curves([execution("a", 1, 0.1, [3, 2, 1]), execution("b", 1, 0.1, [5, 4])]);
    expect(loss).toEqual({ name: "fit.loss", x: [0, 1, 2], ys: [[3, 2, 1], [5, 4, null]] });
  });

  it("skips non-numeric metrics and numbers unstepped points by position", () => {
    const e = execution("a", 1, 0.1, []);
    e.nodes = [node("fit", {}, [{ key: "acc", value: 0.5 }, { key: "acc", value: 0.7 }, { key: "note", value: "x" }])];
    expect(curves([e])).toEqual([{ name: "fit.acc", x: [0, 1], ys: [[0.5, 0.7]] }]);
  });

  it("handles 100 executions of 1,000 steps", () => {
    const many = Array.from({ length: 100 }, (_, i) =>
      execution(`e${i}`, i, i / 100, Array.from({ length: 1000 }, (_, s) => s * i)));
    const [loss] = curves(many);
    expect(loss?.x.length).toBe(1000);
    expect(loss?.ys.length).toBe(100);
    expect(compareRows(many).find((r) => r.name === "fit.lr")?.differs).toBe(true);
  });
});
