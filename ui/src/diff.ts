// Two texts line by line (a registered version's file against another's): the longest
// common subsequence of their lines, as rows side by side. Past MAX_CELLS (the LCS
// table) the lines between the common head and tail are shown as removed then added.

export type Op = { kind: "same" | "del" | "add"; text: string; a: number | null; b: number | null };

export interface Row {
  kind: "same" | "changed" | "del" | "add";
  left: { n: number; text: string } | null;
  right: { n: number; text: string } | null;
}

const MAX_CELLS = 4_000_000;

export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** The edit script from ``a`` to ``b`` (line numbers from 1). */
export function diffLines(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const ops: Op[] = [];
  for (let i = 0; i < head; i++) ops.push({ kind: "same", text: a[i] ?? "", a: i + 1, b: i + 1 });
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  if (x.length * y.length > MAX_CELLS) {
    x.forEach((t, i) => ops.push({ kind: "del", text: t, a: head + i + 1, b: null }));
    y.forEach((t, j) => ops.push({ kind: "add", text: t, a: null, b: head + j + 1 }));
  } else {
    // lcs[i][j]: the LCS length of x[i:] and y[j:]
    const w = y.length + 1;
    const lcs = new Uint32Array((x.length + 1) * w);
    for (let i = x.length - 1; i >= 0; i--)
      for (let j = y.length - 1; j >= 0; j--)
        lcs[i * w + j] = x[i] === y[j] ? (lcs[(i + 1) * w + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * w + j] ?? 0, lcs[i * w + j + 1] ?? 0);
    let i = 0;
    let j = 0;
    while (i < x.length || j < y.length) {
      if (i < x.length && j < y.length && x[i] === y[j]) {
        ops.push({ kind: "same", text: x[i] ?? "", a: head + i + 1, b: head + j + 1 });
        i++;
        j++;
      } else if (j < y.length && (i === x.length || (lcs[i * w + j + 1] ?? 0) > (lcs[(i + 1) * w + j] ?? 0))) {
        // (on a tie the removed line goes first: a change reads as old then new)
        ops.push({ kind: "add", text: y[j] ?? "", a: null, b: head + j + 1 });
        j++;
      } else {
        ops.push({ kind: "del", text: x[i] ?? "", a: head + i + 1, b: null });
        i++;
      }
    }
  }
  for (let k = 0; k < tail; k++) {
    const ia = a.length - tail + k;
    const ib = b.length - tail + k;
    ops.push({ kind: "same", text: a[ia] ?? "", a: ia + 1, b: ib + 1 });
  }
  return ops;
}

/** The edit script as rows side by side: a run of removed lines beside the run of
 * added lines that follows it (``changed``), the rest alone. */
export function sideBySide(ops: Op[]): Row[] {
  const rows: Row[] = [];
  let k = 0;
  while (k < ops.length) {
    const op = ops[k]!;
    if (op.kind === "same") {
      rows.push({ kind: "same", left: { n: op.a ?? 0, text: op.text }, right: { n: op.b ?? 0, text: op.text } });
      k++;
      continue;
    }
    const dels: Op[] = [];
    const adds: Op[] = [];
    while (k < ops.length && ops[k]!.kind === "del") dels.push(ops[k++]!);
    while (k < ops.length && ops[k]!.kind === "add") adds.push(ops[k++]!);
    for (let i = 0; i < Math.max(dels.length, adds.length); i++) {
      const d = dels[i];
      const a = adds[i];
      rows.push({
        kind: d && a ? "changed" : d ? "del" : "add",
        left: d ? { n: d.a ?? 0, text: d.text } : null,
        right: a ? { n: a.b ?? 0, text: a.text } : null,
      });
    }
  }
  return rows;
}

/** How the files of two versions differ: each path with ``added`` (only in b),
 * ``removed`` (only in a) or ``both``. */
export function fileStates(a: { path: string }[], b: { path: string }[]): { path: string; state: "added" | "removed" | "both" }[] {
  const left = new Set(a.map((f) => f.path));
  const right = new Set(b.map((f) => f.path));
  return [...new Set([...left, ...right])].sort().map((path) => ({
    path,
    state: left.has(path) && right.has(path) ? "both" : left.has(path) ? "removed" : "added",
  }));
}
