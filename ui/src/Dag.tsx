import { useMemo } from "react";
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge as FlowEdge,
  type Node as FlowNode,
  type NodeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import type { NodeShape } from "./api";
import { inferEdges, layout } from "./graph";

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
  // The layout depends on the graph's shape only: a status change keeps positions.
  const edges = useMemo(() => inferEdges(nodes), [nodes]);
  const shape = nodes.map((n) => n.node_id).join("\u0000") + "|" + edges.map((e) => `${e.source}>${e.target}`).join(",");
  const positions = useMemo(() => layout(nodes.map((n) => n.node_id), edges), [shape]);
  const flowNodes: StepNode[] = nodes.map((node, i) => ({
    id: node.node_id,
    type: "step",
    position: { x: positions[i]?.x ?? 0, y: positions[i]?.y ?? 0 },
    data: { node, selected: node.node_id === selected },
    draggable: false,
    connectable: false,
  }));
  const flowEdges: FlowEdge[] = edges.map((e) => ({
    id: `${e.source}->${e.target}`,
    source: e.source,
    target: e.target,
    markerEnd: { type: MarkerType.ArrowClosed },
  }));
  return (
    <div className="dag" aria-label="workflow graph">
      <ReactFlow
        nodes={flowNodes}
        edges={flowEdges}
        nodeTypes={nodeTypes}
        onNodeClick={(_, n) => onSelect(n.id)}
        fitView
        fitViewOptions={{ maxZoom: 1 }}
        nodesConnectable={false}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
