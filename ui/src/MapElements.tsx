// A map node's elements in its panel: one row per element with its status and its
// value, and for an element recorded on its own (a failure) its error, traceback and
// logs behind a disclosure. From GET /executions/{id}/nodes/{node}/elements.
import { useQuery } from "@tanstack/react-query";
import { mapElements } from "./api";
import { Status } from "./Status";

export function MapElements({ executionId, nodeId, status }: { executionId: string; nodeId: string; status: string }) {
  const elements = useQuery({
    queryKey: ["elements", executionId, nodeId, status],
    queryFn: () => mapElements(executionId, nodeId),
    refetchInterval: status === "RUNNING" ? 2000 : false, // elements end one by one
  });
  return (
    <section>
      <h3>Elements {elements.data && <span className="muted">({elements.data.length})</span>}</h3>
      {elements.isPending && <p className="muted">…</p>}
      {elements.isError && <p role="alert">Could not list the elements: {elements.error.message}</p>}
      {elements.data && elements.data.length === 0 && <p className="muted">none yet</p>}
      {elements.data && elements.data.length > 0 && (
        <table className="elements">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Status</th>
              <th scope="col">Value or error</th>
            </tr>
          </thead>
          <tbody>
            {elements.data.map((e) => (
              <tr key={e.map_index} data-element={e.map_index}>
                <td>{e.map_index}</td>
                <td>
                  <Status status={e.status} />
                </td>
                <td>
                  {e.error ? (
                    <details>
                      <summary>{e.error}</summary>
                      {e.traceback && <pre className="traceback">{e.traceback}</pre>}
                      {e.logs && (
                        <pre className="logs" tabIndex={0} aria-label={`logs of element ${e.map_index}`}>
                          {e.logs}
                        </pre>
                      )}
                    </details>
                  ) : (
                    <code>{e.value === null ? "–" : JSON.stringify(e.value)}</code>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
