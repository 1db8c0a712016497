import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { abortExecution, ended, getExecution, getExecutionGraph, recoverExecution } from "./api";
import { Dag } from "./Dag";
import { groups, withPlan } from "./graph";
import { seconds, when } from "./format";
import { detailPolling, useLiveExecution } from "./live";
import { NodePanel } from "./NodePanel";
import { Link } from "./Link";
import { useAllows } from "./roles";
import { executionPath, navigate } from "./router";
import { Status } from "./Status";
import { Timeline } from "./Timeline";

export function ExecutionPage({ id }: { id: string }) {
  const client = useQueryClient();
  const [selected, setSelected] = useState<string | null>(null);
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set()); // groups opened
  const detail = useQuery({
    queryKey: ["execution", id],
    queryFn: () => getExecution(id),
    // The event stream drives updates; polling is the backstop while it runs.
    refetchInterval: (q) => detailPolling(q.state.data),
  });
  // The whole DAG from the execution's IR (it never changes: asked once). The page
  // waits for it, so that the nodes do not move when it comes; without it (an old
  // server, an error) the recorded nodes are drawn with their data-flow edges.
  const plan = useQuery({
    queryKey: ["graph", id],
    queryFn: () => getExecutionGraph(id),
    staleTime: Infinity,
    retry: false,
  });
  useLiveExecution(id, detail.data?.status, detail.data?.nodes.length);
  const mayLaunch = useAllows(detail.data?.project ?? "default", "launcher");
  const drawn = useMemo(() => withPlan(detail.data?.nodes ?? [], plan.data), [detail.data?.nodes, plan.data]);
  const inside = useMemo(() => groups(drawn.nodes), [drawn.nodes]);
  const recover = useMutation({
    mutationFn: (fromNodes: string[]) => recoverExecution(id, fromNodes),
    onSuccess: (r) => {
      void client.invalidateQueries({ queryKey: ["executions"] });
      navigate(executionPath(r.execution_id));
    },
  });
  const abort = useMutation({
    mutationFn: () => abortExecution(id),
    onSettled: () => client.invalidateQueries({ queryKey: ["execution", id] }),
  });

  if (detail.isPending || plan.isPending) return <p>Loading {id}…</p>;
  if (detail.isError) return <p role="alert">{detail.error.message}</p>;
  const e = detail.data;
  const node = drawn.nodes.find((n) => n.node_id === selected);
  return (
    <section className="execution" aria-labelledby="execution-title">
      <p>
        <Link to="/">← Executions</Link>
      </p>
      <h1 id="execution-title">
        {e.execution_id} <Status status={e.status} />
      </h1>
      <p className="muted">
        {e.workflow} · created {when(e.created_at)} · {seconds(e.started_at, e.ended_at)} ·{" "}
        {e.nodes.length === drawn.nodes.length
          ? `${e.nodes.length} nodes`
          : `${e.nodes.length} of ${drawn.nodes.length} nodes started`}
        {!ended(e.status) && mayLaunch && (
          <>
            {" "}
            <button type="button" disabled={abort.isPending} onClick={() => abort.mutate()}>
              Abort
            </button>
          </>
        )}
        {ended(e.status) && mayLaunch && (
          <>
            {" "}
            <button type="button" disabled={recover.isPending} onClick={() => recover.mutate([])}>
              Recover
            </button>
          </>
        )}{" "}
        {mayLaunch && (
          <button type="button" onClick={() => navigate(`/launch?from=${encodeURIComponent(e.execution_id)}`)}>
            Relaunch
          </button>
        )}
      </p>
      {abort.isError && <p role="alert">Could not abort: {abort.error.message}</p>}
      {recover.isError && <p role="alert">Could not recover: {recover.error.message}</p>}
      {e.error && <pre className="traceback">{e.error}</pre>}
      <div className="execution-body">
        <Dag nodes={drawn.nodes} edges={drawn.edges} selected={selected} onSelect={setSelected} expanded={expanded} />
        {node ? (
          <NodePanel
            executionId={e.execution_id}
            node={node}
            onRerun={
              ended(e.status) && mayLaunch && !recover.isPending && node.status !== "PENDING"
                ? () => recover.mutate([node.node_id])
                : undefined
            }
            inside={inside.get(node.node_id) ?? 0}
            open={expanded.has(node.node_id)}
            onToggle={() => {
              const next = new Set(expanded);
              if (!next.delete(node.node_id)) next.add(node.node_id);
              setExpanded(next);
            }}
          />
        ) : (
          <aside className="panel muted">Select a node to see its inputs, outputs, attempts and logs.</aside>
        )}
      </div>
      <Timeline nodes={e.nodes} start={e.started_at} end={e.ended_at} />
    </section>
  );
}
