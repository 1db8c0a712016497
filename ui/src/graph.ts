// The DAG of an execution, from its node records, laid out left to right (layered.ts).
//
// The store keeps no IR per execution, so the edges are the recorded data flow: an
// edge u -> v when an output of u (its content hash) is an input of v and u ended
// before v started. Two nodes producing an equal value both link to its consumer.
import type { NodeShape } from "./api";
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
