// The React Flow canvas that the execution's DAG (Dag.tsx) and the lineage graph
// (LineagePage.tsx) share: nodes laid out left to right by graph.ts, arrowed edges,
// nothing draggable or connectable. Each caller brings its node component and data.
import { useEffect, useMemo, useRef } from "react";
import {
  Background,
  Controls,
  MarkerType,
  Position,
  ReactFlow,
  type NodeHandle,
  type Edge as FlowEdge,
  type FitViewOptions,
  type Node as FlowNode,
  type NodeTypes,
  useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { layout, NODE_HEIGHT, NODE_WIDTH, type Edge } from "./graph";

// Where every node's handles are (as its component draws them): no measuring.
const HANDLES: NodeHandle[] = [
  { type: "target", position: Position.Left, x: -3, y: NODE_HEIGHT / 2 - 3, width: 6, height: 6 },
  { type: "source", position: Position.Right, x: NODE_WIDTH - 3, y: NODE_HEIGHT / 2 - 3, width: 6, height: 6 },
];
const LARGE = 150; // nodes: past this, only those in view are drawn

export function FlowGraph<D extends Record<string, unknown>>({
  items,
  edges,
  type,
  nodeTypes,
  onNodeClick,
  className,
  label,
  focus = [],
  fitKey = "",
}: {
  /** ``version``: what the node shows, as a string; while it and the node's place
   * stay the same, the node is not redrawn (``data`` is not compared). */
  items: { id: string; data: D; version?: string }[];
  edges: Edge[];
  /** The key of ``nodeTypes`` that draws every node. */
  type: string;
  /** A module constant: React Flow redraws every node when this object changes. */
  nodeTypes: NodeTypes;
  onNodeClick: (node: FlowNode<D>) => void;
  className: string;
  label: string;
  /** The nodes a big graph opens on (else its middle), e.g. those running. */
  focus?: string[];
  /** When this changes (a subworkflow opened or closed), the view is fitted again; a
   * node that merely appears (a live graph growing) leaves the view where it is. */
  fitKey?: string;
}) {
  // The layout depends on the graph's shape only: a status change keeps positions.
  const edgeKey = edges.map((e) => `${e.source}>${e.target}`).join(",");
  const shape = items.map((i) => i.id).join("\u0000") + "|" + edgeKey;
  const positions = useMemo(() => layout(items.map((i) => i.id), edges), [shape]);
  // A node whose version and place are unchanged is the same object as before: React
  // Flow then skips it, and a live update of one node of 1,000 redraws one.
  const made = useRef(new Map<string, { version: string; node: FlowNode<D> }>());
  const flowNodes: FlowNode<D>[] = items.map((item, i) => {
    const x = positions[i]?.x ?? 0;
    const y = positions[i]?.y ?? 0;
    const before = made.current.get(item.id);
    if (item.version !== undefined && before && before.version === item.version &&
        before.node.position.x === x && before.node.position.y === y)
      return before.node;
    const node: FlowNode<D> = {
      id: item.id,
      type,
      position: { x, y },
      data: item.data,
      // Known sizes and handles: React Flow culls and fits without measuring nodes.
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      handles: HANDLES,
      draggable: false,
      connectable: false,
    };
    if (item.version !== undefined) made.current.set(item.id, { version: item.version, node });
    return node;
  });
  const flowEdges: FlowEdge[] = useMemo(
    () =>
      edges.map((e) => ({
        id: `${e.source}->${e.target}`,
        source: e.source,
        target: e.target,
        markerEnd: { type: MarkerType.ArrowClosed },
      })),
    [edgeKey],
  );
  const fitOptions: FitViewOptions = {
    maxZoom: 1,
    minZoom: 0.75,
    // Fit on the declared sizes: a culled node is never measured.
    includeHiddenNodes: true,
    ...(items.length > LARGE && focus.length > 0 ? { nodes: focus.map((id) => ({ id })) } : {}),
  };
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
        fitViewOptions={fitOptions}
        minZoom={0.05}
        onlyRenderVisibleElements={items.length > LARGE}
        nodesConnectable={false}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
        <Refit fitKey={fitKey} options={fitOptions} />
      </ReactFlow>
    </div>
  );
}

/** Fits the view again when ``fitKey`` changes (not on the first draw: ``fitView`` does
 * that), once React Flow holds the new nodes (the next frame). */
function Refit({ fitKey, options }: { fitKey: string; options: FitViewOptions }) {
  const { fitView } = useReactFlow();
  const drawn = useRef(fitKey);
  const latest = useRef(options);
  latest.current = options;
  useEffect(() => {
    if (drawn.current === fitKey) return;
    drawn.current = fitKey;
    const frame = requestAnimationFrame(() => void fitView(latest.current));
    return () => cancelAnimationFrame(frame);
  }, [fitKey, fitView]);
  return null;
}
