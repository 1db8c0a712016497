import { describe, expect, it } from "vitest";
import { lineageGraph, type LineageArtifact } from "./lineage";

const art = (hash: string, more: Partial<LineageArtifact> = {}): LineageArtifact => ({
  hash, type: "int", type_name: "int", size: 2, ...more,
});
const run = (execution_id: string, node_id: string) => ({ execution_id, node_id, task: `wf:${node_id}`, status: "SUCCEEDED" });

describe("lineageGraph", () => {
  it("merges the upstream and downstream trees into one graph across executions", () => {
    // total's output 10 <- e1:total <- xs <- e1:load <- n (an input of e1)
    const up = [art("h10", {
      produced_by: [{ ...run("e1", "total"), inputs: {
        xs: art("hxs", { produced_by: [{ ...run("e1", "load"), inputs: { n: art("hn", { workflow_input_of: "e1", produced_by: [] }) } }] }),
      } }],
    })];
    // 10 -> e1:report and e2:report (another execution) -> their outputs
    const down = [art("h10", {
      used_by: [
        { ...run("e1", "report"), outputs: { o: art("hr", { used_by: [] }) } },
        { ...run("e2", "report"), outputs: { o: art("hr", { repeat: true }) } },
      ],
    })];
    const g = lineageGraph(up, down);
    const ids = g.items.map((i) => i.id).sort();
    expect(ids).toEqual(["a:h10", "a:hn", "a:hr", "a:hxs", "n:e1:load", "n:e1:report", "n:e1:total", "n:e2:report"]);
    expect(g.edges.map((e) => `${e.source}>${e.target}`).sort()).toEqual([
      "a:h10>n:e1:report", "a:h10>n:e2:report", "a:hn>n:e1:load", "a:hxs>n:e1:total",
      "n:e1:load>a:hxs", "n:e1:report>a:hr", "n:e1:total>a:h10", "n:e2:report>a:hr",
    ]);
    const root = g.items.find((i) => i.id === "a:h10");
    expect(root).toMatchObject({ kind: "artifact", root: true, label: "int, 2 B" });
    expect(g.items.find((i) => i.id === "a:hn")).toMatchObject({ root: false, inputOf: "e1" });
  });

  it("is empty for no artifacts", () => {
    expect(lineageGraph([], [])).toEqual({ items: [], edges: [] });
  });
});
