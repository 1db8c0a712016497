import { describe, expect, it } from "vitest";
import { layered, ranks, type Link } from "./layered";
import { rowsInView } from "./windowed";

const SPACING = { width: 180, height: 56, rankGap: 64, nodeGap: 24, margin: 16 };

/** ``layers`` x ``width`` nodes; (l, j) reads (l-1, j) and (l-1, j+1 mod width). */
function grid(layers: number, width: number): { ids: string[]; links: Link[] } {
  const ids: string[] = [];
  const links: Link[] = [];
  for (let l = 0; l < layers; l++)
    for (let j = 0; j < width; j++) {
      ids.push(`${l}_${j}`);
      if (l > 0) links.push({ source: `${l - 1}_${j}`, target: `${l}_${j}` }, { source: `${l - 1}_${(j + 1) % width}`, target: `${l}_${j}` });
    }
  return { ids, links };
}

function crossings(links: Link[], at: Map<string, { x: number; y: number }>): number {
  let n = 0;
  for (let i = 0; i < links.length; i++)
    for (let k = i + 1; k < links.length; k++) {
      const a = links[i]!, b = links[k]!;
      if (at.get(a.source)!.x !== at.get(b.source)!.x) continue;
      const s = at.get(a.source)!.y - at.get(b.source)!.y;
      const t = at.get(a.target)!.y - at.get(b.target)!.y;
      if (s * t < 0) n++;
    }
  return n;
}

describe("the layered layout", () => {
  it("ranks by longest path, sources next to their first consumer, no empty column", () => {
    const r = ranks(["a", "b", "c", "late"], [
      { source: "a", target: "b" },
      { source: "b", target: "c" },
      { source: "late", target: "c" },
    ]);
    expect(Object.fromEntries(r)).toEqual({ a: 0, b: 1, c: 2, late: 1 });
    expect(Object.fromEntries(ranks(["x", "y"], [{ source: "x", target: "y" }]))).toEqual({ x: 0, y: 1 });
  });

  it("lays out 1,000 nodes and 1,960 edges left to right, each column centred", () => {
    const { ids, links } = grid(20, 50);
    const at = layered(ids, links, SPACING);
    expect(at.size).toBe(1000);
    expect(links.filter((l) => at.get(l.source)!.x >= at.get(l.target)!.x)).toEqual([]);
    const column = ids.filter((id) => id.startsWith("7_")).map((id) => at.get(id)!.y).sort((a, b) => a - b);
    expect(new Set(column).size).toBe(50); // no two nodes of a column overlap
    expect(column[1]! - column[0]!).toBe(SPACING.height + SPACING.nodeGap);
  });

  it("orders a column to cut crossings", () => {
    // b2 feeds c1 and b1 feeds c2: the input order crosses, the layout does not.
    const ids = ["a", "b1", "b2", "c1", "c2"];
    const links = [
      { source: "a", target: "b1" },
      { source: "a", target: "b2" },
      { source: "b2", target: "c1" },
      { source: "b1", target: "c2" },
    ];
    expect(crossings(links, layered(ids, links, SPACING))).toBe(0);
  });

  it("survives a cycle and a self link", () => {
    const at = layered(["p", "q"], [{ source: "p", target: "q" }, { source: "q", target: "p" }, { source: "p", target: "p" }], SPACING);
    expect(at.size).toBe(2);
  });
});

describe("windowing", () => {
  it("draws the rows in view and a few either side, the rest as space", () => {
    expect(rowsInView(1000, 20, 0, 200, 5)).toEqual({ start: 0, end: 15, before: 0, after: 985 * 20 });
    expect(rowsInView(1000, 20, 4000, 200, 5)).toEqual({ start: 195, end: 215, before: 3900, after: 785 * 20 });
    expect(rowsInView(1000, 20, 1e9, 200, 5)).toEqual({ start: 1000, end: 1000, before: 20000, after: 0 });
    expect(rowsInView(3, 20, 0, 200, 5)).toEqual({ start: 0, end: 3, before: 0, after: 0 });
  });
});
