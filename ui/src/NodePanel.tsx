import { useQueries, useQuery } from "@tanstack/react-query";
import { getArtifact, nodeLogs, type NodeShape } from "./api";
import { seconds, valueText } from "./format";
import { Status } from "./Status";

function Value({ hash }: { hash: string }) {
  const artifact = useQuery({
    queryKey: ["artifact", hash],
    queryFn: () => getArtifact(hash),
    staleTime: Infinity,
  });
  if (artifact.isPending) return <span className="muted">…</span>;
  if (artifact.isError) return <span className="muted">{artifact.error.message}</span>;
  const a = artifact.data;
  return (
    <code className="value" title={`sha256 ${a.hash}`}>
      {valueText(a.inline, a.format, a.size)}
    </code>
  );
}

function Values({ title, values }: { title: string; values: Record<string, string> }) {
  const names = Object.keys(values).sort();
  return (
    <section>
      <h3>{title}</h3>
      {names.length === 0 ? (
        <p className="muted">none</p>
      ) : (
        <dl className="values" data-values={title.toLowerCase()}>
          {names.map((name) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>
                <Value hash={values[name] ?? ""} />
              </dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

/** Every attempt of the node: its status, error traceback and captured logs. */
function Attempts({ executionId, node }: { executionId: string; node: NodeShape }) {
  const numbers = Array.from({ length: node.attempts }, (_, i) => i + 1);
  const attempts = useQueries({
    queries: numbers.map((n) => ({
      queryKey: ["logs", executionId, node.node_id, n, node.status],
      queryFn: () => nodeLogs(executionId, node.node_id, n),
    })),
  });
  return (
    <section>
      <h3>Attempts</h3>
      {numbers.length === 0 && (
        <p className="muted">
          none
          {node.source_execution ? ` (value from ${node.source_execution}:${node.source_node ?? ""})` : ""}
        </p>
      )}
      {attempts.map((q, i) => (
        <article key={numbers[i]} className="attempt" data-attempt={numbers[i]}>
          <h4>
            Attempt {numbers[i]} {q.data && <Status status={q.data.status} />}
          </h4>
          {q.isError && <p className="muted">{q.error.message}</p>}
          {q.data?.traceback && <pre className="traceback">{q.data.traceback}</pre>}
          {q.data && (
            <pre className="logs" aria-label={`logs of attempt ${numbers[i]}`}>
              {q.data.logs || "(no output)"}
            </pre>
          )}
        </article>
      ))}
    </section>
  );
}

export function NodePanel({ executionId, node }: { executionId: string; node: NodeShape }) {
  return (
    <aside className="panel" aria-label={`node ${node.node_id}`}>
      <h2>
        {node.node_id} <Status status={node.status} />
      </h2>
      <p className="muted">
        {node.task || node.kind} · {seconds(node.started_at, node.ended_at)}
        {node.cache_key ? ` · cache key ${node.cache_key.slice(0, 12)}` : ""}
      </p>
      {node.error && <pre className="traceback">{node.error}</pre>}
      <Values title="Inputs" values={node.inputs} />
      <Values title="Outputs" values={node.outputs} />
      <Attempts executionId={executionId} node={node} />
    </aside>
  );
}
