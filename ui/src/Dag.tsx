import { useMemo } from "react";
import { Handle, Position, type Node as FlowNode, type NodeProps } from "@xyflow/react";
import type { NodeShape } from "./api";
import { FlowGraph } from "./FlowGraph";
import { collapse, groups, inferEdges, type Edge } from "./graph";

type StepData = { node: NodeShape; selected: boolean; inside: number; open: boolean };
type StepNode = FlowNode<StepData, "step">;

function Step({ data }: NodeProps<StepNode>) {
  const { node, selected, inside, open } = data;
  return (
    <div
      className={`step status-${node.status.toLowerCase()}${selected ? " selected" : ""}`}
      data-node={node.node_id}
      data-status={node.status}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="step-name">{node.node_id}</div>
      <div className="step-status">
        {node.status === "PENDING" ? "not started" : node.status}
        {node.attempts > 1 ? ` · ${node.attempts} attempts` : ""}
        {inside > 0 ? ` · ${open ? "open" : `${inside} inside`}` : ""}
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

const nodeTypes = { step: Step };
const CLOSED = new Set<string>();

/** The execution's nodes left to right; a click selects one. A subworkflow or a
 * dynamic node is drawn as one node with its count of nodes inside, until it is in
 * ``expanded`` (its panel opens it). ``edges``: those of its IR (graph.ts withPlan),
 * else the recorded data flow. */
export function Dag({
  nodes,
  edges,
  selected,
  onSelect,
  expanded = CLOSED,
}: {
  nodes: NodeShape[];
  edges?: Edge[];
  selected: string | null;
  onSelect: (nodeId: string) => void;
  expanded?: Set<string>;
}) {
  const inside = useMemo(() => groups(nodes), [nodes]);
  const graph = useMemo(() => collapse(nodes, edges ?? inferEdges(nodes), expanded), [nodes, edges, expanded]);
  return (
    <FlowGraph
      className="dag"
      label="workflow graph"
      type="step"
      nodeTypes={nodeTypes}
      items={graph.nodes.map((node) => {
        const picked = node.node_id === selected;
        const count = inside.get(node.node_id) ?? 0;
        const open = expanded.has(node.node_id);
        return {
          id: node.node_id,
          data: { node, selected: picked, inside: count, open },
          version: `${node.status}|${node.attempts}|${picked}|${count}|${open}`,
        };
      })}
      edges={graph.edges}
      focus={graph.nodes.filter((n) => n.status === "RUNNING").map((n) => n.node_id)}
      fitKey={[...expanded].sort().join("\u0000")}
      onNodeClick={(n) => onSelect(n.id)}
    />
  );
}
