import { useMemo } from "react";
import { Handle, Position, type Node as FlowNode, type NodeProps } from "@xyflow/react";
import type { NodeShape } from "./api";
import { FlowGraph } from "./FlowGraph";
import { inferEdges } from "./graph";

type StepData = { node: NodeShape; selected: boolean };
type StepNode = FlowNode<StepData, "step">;

function Step({ data }: NodeProps<StepNode>) {
  const { node, selected } = data;
  return (
    <div
      className={`step status-${node.status.toLowerCase()}${selected ? " selected" : ""}`}
      data-node={node.node_id}
      data-status={node.status}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="step-name">{node.node_id}</div>
      <div className="step-status">
        {node.status}
        {node.attempts > 1 ? ` · ${node.attempts} attempts` : ""}
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

const nodeTypes = { step: Step };

/** The execution's nodes left to right; a click selects one. */
export function Dag({
  nodes,
  selected,
  onSelect,
}: {
  nodes: NodeShape[];
  selected: string | null;
  onSelect: (nodeId: string) => void;
}) {
  const edges = useMemo(() => inferEdges(nodes), [nodes]);
  return (
    <FlowGraph
      className="dag"
      label="workflow graph"
      type="step"
      nodeTypes={nodeTypes}
      items={nodes.map((node) => {
        const picked = node.node_id === selected;
        return { id: node.node_id, data: { node, selected: picked }, version: `${node.status}|${node.attempts}|${picked}` };
      })}
      edges={edges}
      focus={nodes.filter((n) => n.status === "RUNNING").map((n) => n.node_id)}
      onNodeClick={(n) => onSelect(n.id)}
    />
  );
}
