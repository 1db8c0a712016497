// The lineage of a value as one graph: the trees that GET /lineage/{ref} answers
// upstream (artifact <- the node run that produced it <- its inputs ...) and downstream
// (artifact -> the node runs that used it -> their outputs ...), merged, across
// executions. Artifacts and node runs are the graph's nodes; the data flow its edges.
import type { Edge } from "./graph";

export interface LineageArtifact {
  hash: string;
  type: string | null;
  type_name?: string | null;
  size: number | null;
  format?: string | null;
  repeat?: boolean;
  workflow_input_of?: string;
  produced_by?: LineageRun[];
  used_by?: LineageRun[];
}

export interface LineageRun {
  execution_id: string;
  node_id: string;
  task: string;
  status: string;
  inputs?: Record<string, LineageArtifact>;
  outputs?: Record<string, LineageArtifact>;
}

export interface LineageShape {
  ref: string;
  direction: string;
  artifacts: LineageArtifact[];
}

export type Item =
  | { id: string; kind: "artifact"; hash: string; label: string; root: boolean; inputOf: string | null }
  | { id: string; kind: "run"; execution: string; node: string; task: string; status: string };

export interface LineageGraph {
  items: Item[];
  edges: Edge[];
}

export const artifactId = (hash: string) => `a:${hash}`;
export const runId = (r: { execution_id: string; node_id: string }) => `n:${r.execution_id}:${r.node_id}`;

export function lineageGraph(up: LineageArtifact[], down: LineageArtifact[]): LineageGraph {
  const items = new Map<string, Item>();
  const edges = new Map<string, Edge>();
  const roots = new Set([...up, ...down].map((a) => a.hash));
  const edge = (source: string, target: string) => edges.set(`${source}>${target}`, { source, target });
  const artifact = (a: LineageArtifact): string => {
    const id = artifactId(a.hash);
    const seen = items.get(id);
    const inputOf = a.workflow_input_of ?? (seen?.kind === "artifact" ? seen.inputOf : null);
    items.set(id, {
      id, kind: "artifact", hash: a.hash, root: roots.has(a.hash), inputOf,
      label: `${a.type_name ?? a.type ?? "value"}${a.size !== null ? `, ${a.size} B` : ""}`,
    });
    return id;
  };
  const run = (r: LineageRun): string => {
    const id = runId(r);
    items.set(id, { id, kind: "run", execution: r.execution_id, node: r.node_id, task: r.task, status: r.status });
    return id;
  };
  const upstream = (a: LineageArtifact) => {
    const id = artifact(a);
    for (const p of a.produced_by ?? []) {
      const r = run(p);
      edge(r, id);
      for (const child of Object.values(p.inputs ?? {})) edge(upstream(child), r);
    }
    return id;
  };
  const downstream = (a: LineageArtifact) => {
    const id = artifact(a);
    for (const c of a.used_by ?? []) {
      const r = run(c);
      edge(id, r);
      for (const child of Object.values(c.outputs ?? {})) edge(r, downstream(child));
    }
    return id;
  };
  up.forEach(upstream);
  down.forEach(downstream);
  return { items: [...items.values()], edges: [...edges.values()] };
}
