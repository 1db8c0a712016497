import { useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { Handle, Position, type Node as FlowNode, type NodeProps } from "@xyflow/react";
import { getLineage } from "./api";
import { FlowGraph } from "./FlowGraph";
import { lineageGraph, type Item } from "./lineage";
import { Link } from "./Link";
import { executionPath, lineagePath, navigate } from "./router";

type ItemNode = FlowNode<{ item: Item }, "item">;

function ItemBox({ data }: NodeProps<ItemNode>) {
  const { item } = data;
  return (
    <div
      className={
        item.kind === "artifact"
          ? `lineage-artifact${item.root ? " root" : ""}`
          : `step lineage-run status-${item.status.toLowerCase()}`
      }
      data-artifact={item.kind === "artifact" ? item.hash : undefined}
      data-run={item.kind === "run" ? `${item.execution}:${item.node}` : undefined}
      data-status={item.kind === "run" ? item.status : undefined}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      {item.kind === "artifact" ? (
        <>
          <div className="step-name">{item.hash.slice(0, 12)}</div>
          <div>{item.label}</div>
          {item.inputOf && <div className="muted">input of {item.inputOf.slice(0, 12)}</div>}
        </>
      ) : (
        <>
          <div className="step-name">{item.node}</div>
          <div>
            {item.execution.slice(0, 12)} · {item.status}
          </div>
        </>
      )}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

const nodeTypes = { item: ItemBox };

/** Where a value came from and what used it, across executions: REF is an execution
 * (its outputs), EXEC:NODE (that node's outputs) or an artifact hash prefix. A click on a
 * node run opens its execution; on an artifact, its own lineage. */
export function LineagePage({ reference }: { reference: string }) {
  const up = useQuery({ queryKey: ["lineage", reference, "upstream"], queryFn: () => getLineage(reference, "upstream") });
  const down = useQuery({
    queryKey: ["lineage", reference, "downstream"],
    queryFn: () => getLineage(reference, "downstream"),
  });
  const graph = useMemo(
    () => (up.data && down.data ? lineageGraph(up.data.artifacts, down.data.artifacts) : null),
    [up.data, down.data],
  );
  const failed = up.error ?? down.error;
  if (failed) return <p role="alert">{failed.message}</p>;
  if (!graph) return <p>Loading the lineage of {reference}…</p>;
  const runs = graph.items.filter((i) => i.kind === "run");
  const executions = [...new Set(runs.map((r) => (r.kind === "run" ? r.execution : "")))];
  return (
    <section aria-labelledby="lineage-title">
      <h1 id="lineage-title">Lineage of {reference}</h1>
      <p className="muted">
        Upstream (what it came from) on the left, downstream (what used it) on the right:{" "}
        {graph.items.length - runs.length} values, {runs.length} node runs in {executions.length} executions.
      </p>
      <FlowGraph
        className="dag lineage"
        label="lineage graph"
        type="item"
        nodeTypes={nodeTypes}
        items={graph.items.map((item) => ({ id: item.id, data: { item } }))}
        edges={graph.edges}
        onNodeClick={({ data: { item } }) => {
          if (item.kind === "run") navigate(executionPath(item.execution));
          else if (!item.root) navigate(lineagePath(item.hash));
        }}
      />
      <h2>Executions</h2>
      <ul className="lineage-executions">
        {executions.map((id) => (
          <li key={id}>
            <Link to={executionPath(id)}>{id}</Link>{" "}
            <span className="muted">
              {runs
                .filter((r) => r.kind === "run" && r.execution === id)
                .map((r) => (r.kind === "run" ? r.node : ""))
                .join(", ")}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
