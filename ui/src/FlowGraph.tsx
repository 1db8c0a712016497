// The React Flow canvas that the execution's DAG (Dag.tsx) and the lineage graph
// (LineagePage.tsx) share: nodes laid out left to right by graph.ts, arrowed edges,
// nothing draggable or connectable. Each caller brings its node component and data.
import { useMemo } from "react";
import {
  Background,
  Controls,
  MarkerType,
  ReactFlow,
  type Edge as FlowEdge,
  type Node as FlowNode,
  type NodeTypes,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { layout, type Edge } from "./graph";

const LARGE = 150; // nodes: past this, only those in view are drawn

export function FlowGraph<D extends Record<string, unknown>>({
  items,
  edges,
  type,
  nodeTypes,
  onNodeClick,
  className,
  label,
}: {
  items: { id: string; data: D }[];
  edges: Edge[];
  /** The key of ``nodeTypes`` that draws every node. */
  type: string;
  /** A module constant: React Flow redraws every node when this object changes. */
  nodeTypes: NodeTypes;
  onNodeClick: (node: FlowNode<D>) => void;
  className: string;
  label: string;
}) {
  // The layout depends on the graph's shape only: a status change keeps positions.
  const shape = items.map((i) => i.id).join("\u0000") + "|" + edges.map((e) => `${e.source}>${e.target}`).join(",");
  const positions = useMemo(() => layout(items.map((i) => i.id), edges), [shape]);
  const flowNodes: FlowNode<D>[] = items.map((item, i) => ({
    id: item.id,
    type,
    position: { x: positions[i]?.x ?? 0, y: positions[i]?.y ?? 0 },
    data: item.data,
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
    <div className={className} aria-label={label}>
      <ReactFlow
        nodes={flowNodes}
        edges={flowEdges}
        nodeTypes={nodeTypes}
        onNodeClick={(_, n) => onNodeClick(n)}
        fitView
        // A big graph opens at a readable zoom (its middle) with only what is in view
        // in the DOM: a 1,000-node DAG paints in well under a second
        // (benchmarks/ui_bench.py); zooming out shows the rest.
        fitViewOptions={{ maxZoom: 1, minZoom: 0.5 }}
        minZoom={0.05}
        onlyRenderVisibleElements={items.length > LARGE}
        nodesConnectable={false}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
