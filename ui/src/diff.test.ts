import { describe, expect, it } from "vitest";
import { diffLines, fileStates, sideBySide, splitLines } from "./diff";

describe("a version diff", () => {
  it("finds the common lines and pairs a removed run with the added run after it", () => {
    const a = splitLines("import x\ndef f(n):\n    return n + 1\n\nprint(f(1))\n");
    const b = splitLines("import x\ndef f(n, k=1):\n    return n + k\n\nprint(f(1))\nprint(f(2))\n");
    const ops = diffLines(a, b);
    expect(ops.map((o) => `${o.kind[0]}${o.a ?? "-"}/${o.b ?? "-"}`)).toEqual([
      "s1/1", "d2/-", "d3/-", "a-/2", "a-/3", "s4/4", "s5/5", "a-/6"]);
    const rows = sideBySide(ops);
    expect(rows.map((r) => r.kind)).toEqual(["same", "changed", "changed", "same", "same", "add"]);
    expect(rows[1]).toEqual({ kind: "changed", left: { n: 2, text: "def f(n):" }, right: { n: 2, text: "def f(n, k=1):" } });
    expect(rows[5]).toEqual({ kind: "add", left: null, right: { n: 6, text: "print(f(2))" } });
  });

  it("is all same for equal texts, all added from nothing, and holds a big change", () => {
    const t = splitLines("a\nb\n");
    expect(sideBySide(diffLines(t, t)).every((r) => r.kind === "same")).toBe(true);
    expect(sideBySide(diffLines([], t)).map((r) => r.kind)).toEqual(["add", "add"]);
    const big = Array.from({ length: 1500 }, (_, i) => `line ${i}`);
    const other = big.map((l, i) => (i % 100 === 50 ? `${l} changed` : l));
    const ops = diffLines(big, other);
    expect(ops.filter((o) => o.kind === "del")).toHaveLength(15);
    expect(ops.filter((o) => o.kind === "same")).toHaveLength(1485);
  });

  it("says which files each version has", () => {
    expect(fileStates([{ path: "a.py" }, { path: "old.py" }], [{ path: "a.py" }, { path: "new.py" }])).toEqual([
      { path: "a.py", state: "both" }, { path: "new.py", state: "added" }, { path: "old.py", state: "removed" }]);
  });
});
