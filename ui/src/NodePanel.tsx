import { useQueries, useQuery } from "@tanstack/react-query";
import { downloadUrl, getArtifact, logsDownloadUrl, nodeLogs, type NodeShape } from "./api";
import { DownloadLink, InlineRecords, previewable, ValuePreview } from "./Downloads";
import { seconds, valueText } from "./format";
import { Link } from "./Link";
import { useLiveLog } from "./liveLog";
import { MapElements } from "./MapElements";
import { lineagePath } from "./router";
import { Status } from "./Status";

function inlineValue(inline: unknown): unknown {
  if (typeof inline !== "string") return inline;
  try {
    return JSON.parse(inline) as unknown;
  } catch {
    return undefined;
  }
}

/** A pickled value's type by name (its bytes are never loaded here or on the server). */
function typeName(type: Record<string, unknown>): string {
  const name = type.name ?? type.kind;
  return typeof name === "string" ? name : "";
}

function Value({ hash, name }: { hash: string; name: string }) {
  const artifact = useQuery({
    queryKey: ["artifact", hash],
    queryFn: () => getArtifact(hash),
    staleTime: Infinity,
  });
  if (artifact.isPending) return <span className="muted">…</span>;
  if (artifact.isError) return <span className="muted">{artifact.error.message}</span>;
  const a = artifact.data;
  const stored = a.uri !== null && !a.purged; // bytes in the artifact store
  return (
    <>
      <code className="value" title={`sha256 ${a.hash}`}>
        {valueText(a.inline, a.format, a.size)}
        {a.format === "pickle" && typeName(a.type) ? ` (${typeName(a.type)}, never unpickled)` : ""}
        {a.purged ? " (pruned)" : ""}
      </code>
      {stored && (
        <>
          {" "}
          <DownloadLink url={downloadUrl(a.hash)} name={a.hash.slice(0, 12)} label={`Download ${name}`} />
        </>
      )}
      {previewable(a.format, stored) && <ValuePreview hash={a.hash} label={name} />}
      {a.format === "json" && a.uri === null && <InlineRecords value={inlineValue(a.inline)} label={name} />}
    </>
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
                <Value hash={values[name] ?? ""} name={name} />
              </dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

/** An attempt's output: while it runs, streamed as printed; then its recorded logs. */
function LogText(props: { executionId: string; nodeId: string; attempt: number; running: boolean; recorded: string }) {
  const live = useLiveLog(props.executionId, props.nodeId, props.attempt, props.running);
  const text = props.running ? live.text || props.recorded : props.recorded;
  return (
    <pre className="logs" tabIndex={0} aria-label={`logs of attempt ${props.attempt}`} data-live={props.running ? "true" : undefined}>
      {text || (props.running ? "(no output yet)" : "(no output)")}
    </pre>
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
  // The last attempt of a running node: its output streamed as it is printed.
  const live = (n: number) => node.status === "RUNNING" && n === node.attempts;
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
            <>
              <LogText
                executionId={executionId}
                nodeId={node.node_id}
                attempt={numbers[i] ?? 1}
                running={live(numbers[i] ?? 1)}
                recorded={q.data.logs}
              />
              <DownloadLink
                url={logsDownloadUrl(executionId, node.node_id, numbers[i] ?? 1)}
                name={`${node.node_id}-attempt${numbers[i] ?? 1}.log`}
                label={`Download the logs of attempt ${numbers[i] ?? 1}`}
              />
            </>
          )}
        </article>
      ))}
    </section>
  );
}

/** The params the node logged, and each metric's last value (with its step). */
function Tracking({ node }: { node: NodeShape }) {
  const params = Object.entries(node.params).sort(([a], [b]) => a.localeCompare(b));
  const last = new Map<string, Record<string, unknown>>();
  for (const m of node.metrics) {
    if (typeof m.key !== "string") continue;
    const seen = last.get(m.key);
    if (!seen || Number(m.step ?? 0) >= Number(seen.step ?? 0)) last.set(m.key, m);
  }
  if (params.length === 0 && last.size === 0) return null;
  return (
    <section>
      <h3>Params and metrics</h3>
      <table className="params">
        <tbody>
          {params.map(([k, v]) => (
            <tr key={`p-${k}`} data-param={k}>
              <th scope="row">{k}</th>
              <td>{JSON.stringify(v)}</td>
            </tr>
          ))}
          {[...last.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, m]) => (
            <tr key={`m-${k}`} data-metric={k}>
              <th scope="row">{k}</th>
              <td>
                {JSON.stringify(m.value)}
                {m.step !== undefined && m.step !== null ? <span className="muted"> (step {String(m.step)})</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function NodePanel({
  executionId,
  node,
  onRerun,
  inside = 0,
  open = false,
  onToggle,
}: {
  executionId: string;
  node: NodeShape;
  onRerun?: (() => void) | undefined;
  /** Nodes inside it (a subworkflow or dynamic node), drawn when ``open``. */
  inside?: number;
  open?: boolean;
  onToggle?: () => void;
}) {
  return (
    <aside className="panel" aria-label={`node ${node.node_id}`}>
      <h2>
        {node.node_id} <Status status={node.status} />
      </h2>
      <p className="muted">
        {node.task || node.kind} · {seconds(node.started_at, node.ended_at)}
        {node.cache_key ? ` · cache key ${node.cache_key.slice(0, 12)}` : ""}
      </p>
      {inside > 0 && onToggle && (
        <p>
          <button type="button" aria-expanded={open} onClick={onToggle}>
            {open ? `Close ${node.node_id}` : `Open ${node.node_id} (${inside} nodes inside)`}
          </button>
        </p>
      )}
      {onRerun && (
        <button type="button" onClick={onRerun}>
          Re-run from this node
        </button>
      )}
      {Object.keys(node.outputs).length > 0 && (
        <p>
          <Link to={lineagePath(`${executionId}:${node.node_id}`)}>Lineage of its outputs</Link>
        </p>
      )}
      {node.error && <pre className="traceback">{node.error}</pre>}
      <Values title="Inputs" values={node.inputs} />
      <Values title="Outputs" values={node.outputs} />
      {node.kind === "map" && <MapElements executionId={executionId} nodeId={node.node_id} status={node.status} />}
      <Tracking node={node} />
      <Attempts executionId={executionId} node={node} />
    </aside>
  );
}
