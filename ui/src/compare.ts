// Executions side by side: their inputs, params and final metrics as rows (a cell per
// execution, the rows that differ marked), and each metric's curves aligned on the step.
import type { ComparedExecution, ExecutionDetail, MetricColumns } from "./api";
import { isRecord } from "./form";

export type Section = "execution" | "input" | "param" | "metric";

export interface Row {
  section: Section;
  name: string;
  cells: string[];
  differs: boolean;
}

/** One value as a short line: inline JSON as JSON, a stored value as its type, size and
 * hash prefix (so two different files differ), a missing one as "–". */
export function shown(value: unknown): string {
  if (value === undefined) return "–";
  if (isRecord(value)) {
    const r = value as { type: unknown; size: unknown; hash: unknown };
    return `${String(r.type)}, ${String(r.size)} bytes (${String(r.hash).slice(0, 10)})`;
  }
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

interface MetricPoint {
  key: string;
  value: unknown;
  step: unknown;
}

/** A node's metrics as points: the step recorded with each, else its position. */
function points(metrics: Record<string, unknown>[]): MetricPoint[] {
  const seen = new Map<string, number>();
  return metrics
    .filter((m) => typeof m.key === "string")
    .map((m) => {
      const key = m.key as string;
      const index = seen.get(key) ?? 0;
      seen.set(key, index + 1);
      return { key, value: m.value, step: typeof m.step === "number" ? m.step : index };
    });
}

function finals(e: ExecutionDetail): Map<string, unknown> {
  const last = new Map<string, { step: number; value: unknown }>();
  for (const n of e.nodes)
    for (const p of points(n.metrics)) {
      const name = `${n.node_id}.${p.key}`;
      const seen = last.get(name);
      if (!seen || (p.step as number) >= seen.step) last.set(name, { step: p.step as number, value: p.value });
    }
  return new Map([...last].map(([k, v]) => [k, v.value]));
}

function duration(e: ExecutionDetail): string {
  if (e.started_at === null || e.ended_at === null) return "–";
  return `${(e.ended_at - e.started_at).toFixed(1)} s`;
}

export function compareRows(executions: ExecutionDetail[]): Row[] {
  const rows: Row[] = [];
  const add = (section: Section, names: Iterable<string>, value: (e: ExecutionDetail, name: string) => unknown,
               raw = false) => {
    for (const name of [...new Set(names)].sort()) {
      const cells = executions.map((e) => (raw ? String(value(e, name)) : shown(value(e, name))));
      rows.push({ section, name, cells, differs: new Set(cells).size > 1 });
    }
  };
  add("execution", ["workflow", "status", "duration"], (e, name) =>
    name === "workflow" ? e.workflow : name === "status" ? e.status : duration(e), true);
  add("input", executions.flatMap((e) => Object.keys(e.input_values ?? e.inputs)),
      (e, name) => (e.input_values ? e.input_values[name] : e.inputs[name]));
  const params = (e: ExecutionDetail) =>
    new Map<string, unknown>(e.nodes.flatMap((n) => Object.entries(n.params).map(([k, v]): [string, unknown] => [`${n.node_id}.${k}`, v])));
  const paramsOf = executions.map(params);
  add("param", paramsOf.flatMap((p) => [...p.keys()]), (e, name) => paramsOf[executions.indexOf(e)]?.get(name));
  const finalsOf = executions.map(finals);
  add("metric", finalsOf.flatMap((f) => [...f.keys()]), (e, name) => finalsOf[executions.indexOf(e)]?.get(name));
  return rows;
}

export interface Curves {
  /** node.metric */
  name: string;
  /** the steps of every execution, ascending */
  x: number[];
  /** one series per execution, aligned on x (null where it has no point) */
  ys: (number | null)[][];
}

/** Each metric (node.metric) with one curve per execution, on a shared step axis, from
 * the compared executions' metric columns. A point without a step is numbered by its
 * position; a step given twice keeps its last value. When every execution logged the
 * same ascending steps (the usual training loop) the columns are the curves as they are. */
export function curves(executions: ComparedExecution[]): Curves[] {
  const byName = new Map<string, (MetricColumns | undefined)[]>();
  executions.forEach((e, i) => {
    for (const [node, keys] of Object.entries(e.metrics))
      for (const [key, column] of Object.entries(keys)) {
        if (!column.values.every((v) => typeof v === "number")) continue;
        const name = `${node}.${key}`;
        let per = byName.get(name);
        if (!per) byName.set(name, (per = executions.map(() => undefined)));
        per[i] = column;
      }
  });
  return [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, per]) => {
      const steps = per.map((c) => (c ? c.steps.map((s, j) => s ?? j) : []));
      const first = steps[0] ?? [];
      const shared =
        per.every((c) => c !== undefined) &&
        first.every((s, j) => j === 0 || s > (first[j - 1] as number)) &&
        steps.every((s) => s.length === first.length && s.every((v, j) => v === first[j]));
      if (shared) return { name, x: first, ys: per.map((c) => (c as MetricColumns).values) };
      const maps = per.map((c, i) => new Map((steps[i] ?? []).map((s, j): [number, number] => [s, c?.values[j] as number])));
      const x = [...new Set(steps.flat())].sort((a, b) => a - b);
      return { name, x, ys: maps.map((m) => x.map((s) => m.get(s) ?? null)) };
    });
}
