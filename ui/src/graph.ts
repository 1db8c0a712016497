// The DAG of an execution, laid out left to right (layered.ts).
//
// Its nodes and edges come from the execution's compiled IR (GET /executions/{id}/graph,
// which the store keeps once per workflow spec): every node, those not started drawn
// as PENDING. Where no IR is kept (an execution written before it), and for the nodes
// the IR cannot name (a dynamic's children), the edges are the recorded data flow: an
// edge u -> v when an output of u (its content hash) is an input of v and u ended
// before v started. Two nodes producing an equal value both link to that consumer.
import type { ExecutionGraph, NodeShape } from "./api";
import { layered } from "./layered";

export interface Edge {
  source: string;
  target: string;
}

export function inferEdges(nodes: NodeShape[]): Edge[] {
  const producers = new Map<string, NodeShape[]>();
  for (const node of nodes) {
    for (const hash of new Set(Object.values(node.outputs))) {
      const list = producers.get(hash) ?? [];
      list.push(node);
      producers.set(hash, list);
    }
  }
  const edges: Edge[] = [];
  const seen = new Set<string>();
  for (const node of nodes) {
    for (const hash of new Set(Object.values(node.inputs))) {
      for (const producer of producers.get(hash) ?? []) {
        if (producer.node_id === node.node_id) continue;
        const before =
          producer.ended_at === null ||
          node.started_at === null ||
          producer.ended_at <= node.started_at + 1e-3;
        const key = `${producer.node_id}\u0000${node.node_id}`;
        if (before && !seen.has(key)) {
          seen.add(key);
          edges.push({ source: producer.node_id, target: node.node_id });
        }
      }
    }
  }
  return edges;
}

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 56;

export interface Placed {
  id: string;
  x: number;
  y: number;
}

/** Left-to-right layered positions (top-left corners) of the nodes. */
export function layout(ids: string[], edges: Edge[]): Placed[] {
  const at = layered(ids, edges, { width: NODE_WIDTH, height: NODE_HEIGHT, rankGap: 64, nodeGap: 24, margin: 16 });
  return ids.map((id) => ({ id, ...(at.get(id) ?? { x: 0, y: 0 }) }));
}

/** The subworkflows and dynamic children of an execution: a node whose id is a prefix
 * ("inner") of other nodes' ids ("inner/inc") groups them. */
export function groups(nodes: NodeShape[]): Map<string, number> {
  const ids = new Set(nodes.map((n) => n.node_id));
  const inside = new Map<string, number>();
  for (const n of nodes) {
    const parts = n.node_id.split("/");
    for (let i = 1; i < parts.length; i++) {
      const g = parts.slice(0, i).join("/");
      if (ids.has(g)) inside.set(g, (inside.get(g) ?? 0) + 1);
    }
  }
  return inside;
}

/** The graph with every group not in ``expanded`` drawn as its one node: the nodes
 * inside it hidden, their edges moved to it (duplicates and self-links dropped). */
export function collapse(nodes: NodeShape[], edges: Edge[], expanded: Set<string>): { nodes: NodeShape[]; edges: Edge[] } {
  const inside = groups(nodes);
  const shown = (id: string): string => {
    const parts = id.split("/");
    for (let i = 1; i < parts.length; i++) {
      const g = parts.slice(0, i).join("/");
      if (inside.has(g) && !expanded.has(g)) return g;
    }
    return id;
  };
  const kept = nodes.filter((n) => shown(n.node_id) === n.node_id);
  const seen = new Set<string>();
  const moved: Edge[] = [];
  for (const e of edges) {
    const source = shown(e.source);
    const target = shown(e.target);
    const key = `${source}\u0000${target}`;
    if (source === target || seen.has(key)) continue;
    seen.add(key);
    moved.push({ source, target });
  }
  return { nodes: kept, edges: moved };
}

/** The status of a node that the IR names and that has no record yet. */
export const PENDING = "PENDING";

function pendingNode(node_id: string, kind: string, task: string): NodeShape {
  return {
    node_id, task, kind, status: PENDING, attempts: 0, started_at: null, ended_at: null,
    duration: null, cache_key: null, source_execution: null, source_node: null, inputs: {},
    outputs: {}, error: null, params: {}, metrics: [],
  };
}

/** The nodes to draw and their edges: the IR's nodes in its order (each its record when
 * there is one, else PENDING) with the IR's edges, then the recorded nodes the IR does
 * not name (a dynamic's children) with their data-flow edges. Without an IR: the
 * recorded nodes and their data-flow edges. */
export function withPlan(nodes: NodeShape[], plan: ExecutionGraph | undefined): { nodes: NodeShape[]; edges: Edge[] } {
  if (!plan?.planned) return { nodes, edges: inferEdges(nodes) };
  const recorded = new Map(nodes.map((n) => [n.node_id, n]));
  const named = new Set(plan.nodes.map((n) => n.node_id));
  const merged = plan.nodes.map((p) => recorded.get(p.node_id) ?? pendingNode(p.node_id, p.kind, p.task));
  for (const n of nodes) if (!named.has(n.node_id)) merged.push(n);
  const edges: Edge[] = plan.edges.map((e) => ({ source: e.source, target: e.target }));
  if (merged.length > plan.nodes.length) {
    for (const e of inferEdges(nodes)) if (!named.has(e.source) || !named.has(e.target)) edges.push(e);
  }
  return { nodes: merged, edges };
}
