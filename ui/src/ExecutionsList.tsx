import { useEffect, useState } from "react";
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { abortExecution, ended, EXECUTION_STATUSES, listExecutions, PAGE } from "./api";
import { seconds, when } from "./format";
import { Link } from "./Link";
import { useAllows } from "./roles";
import { apiFilters, filtersSearch, parseFilters, SINCE_PRESETS, type ListFilters } from "./listFilters";
import { executionPath, navigate, usePath } from "./router";
import { Status } from "./Status";
import { useWindowed } from "./windowed";

export const ROW_HEIGHT = 40; // px, as table.executions tbody tr in style.css
const PRESETS = new Set(SINCE_PRESETS.map(([key]) => key));

/** Executions, newest first, filtered on the server by project, domain, workflow,
 * status and creation time; the filters live in the URL's query, so a filtered
 * list can be shared and survives a reload. Polled every second while one is
 * unfinished (every 5 s otherwise). Past 200 loaded rows only those in view are drawn. */
export function ExecutionsList() {
  const path = usePath();
  const filters = parseFilters(path.includes("?") ? path.slice(path.indexOf("?")) : "");
  const [workflow, setWorkflow] = useState(filters.workflow); // typed; sent after a pause
  const [picked, setPicked] = useState<string[]>([]); // to compare, in the order picked
  const client = useQueryClient();
  const set = (change: Partial<ListFilters>) => navigate(`/${filtersSearch({ ...filters, ...change })}`, true);
  useEffect(() => {
    if (workflow === filters.workflow) return;
    const timer = setTimeout(() => set({ workflow }), 300);
    return () => clearTimeout(timer);
  });
  const refused = apiFilters(filters, Date.now() / 1000).error;
  // Pages of 100, newest first; "Older" fetches the next page (``before`` = the last
  // row's created_at). Every loaded page is refetched by the polling. A relative time
  // ("last day") is resolved when each page is fetched.
  const executions = useInfiniteQuery({
    queryKey: ["executions", filters],
    queryFn: ({ pageParam }) =>
      listExecutions({ ...apiFilters(filters, Date.now() / 1000).query, before: pageParam }),
    enabled: refused === null,
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => (last.length === PAGE ? last[last.length - 1]?.created_at : undefined),
    refetchInterval: (query) =>
      (query.state.data?.pages ?? []).some((p) => p.some((e) => !ended(e.status))) ? 1000 : 5000,
  });
  const rows = executions.data?.pages.flat();
  // A token lists one project at a time (an admin's, every one): the Abort buttons
  // show where its role allows them.
  const mayAbort = useAllows(filters.project || "default", "launcher");
  const { ref, window: w } = useWindowed<HTMLDivElement>(rows?.length ?? 0, ROW_HEIGHT);
  const abort = useMutation({
    mutationFn: abortExecution,
    onSettled: () => client.invalidateQueries({ queryKey: ["executions"] }),
  });

  return (
    <section aria-labelledby="executions-title">
      <h1 id="executions-title">Executions</h1>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Project
          <input name="project" value={filters.project} placeholder="all" onChange={(e) => set({ project: e.target.value })} />
        </label>
        <label>
          Domain
          <input name="domain" value={filters.domain} placeholder="all" onChange={(e) => set({ domain: e.target.value })} />
        </label>
        <label>
          Workflow
          <input
            name="workflow"
            value={workflow}
            placeholder="module:function"
            onChange={(e) => setWorkflow(e.target.value)}
          />
        </label>
        <label>
          Status
          <select name="status" value={filters.status} onChange={(e) => set({ status: e.target.value })}>
            <option value="">any</option>
            {EXECUTION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Created
          <select
            name="created"
            value={PRESETS.has(filters.since) ? filters.since : ""}
            onChange={(e) => set({ since: e.target.value, until: "" })}
          >
            <option value="">any time</option>
            {SINCE_PRESETS.map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input
            type="datetime-local"
            name="since"
            value={PRESETS.has(filters.since) ? "" : filters.since}
            onChange={(e) => set({ since: e.target.value })}
          />
        </label>
        <label>
          To
          <input type="datetime-local" name="until" value={filters.until} onChange={(e) => set({ until: e.target.value })} />
        </label>
      </form>
      {refused && <p role="alert">{refused}</p>}
      <p>
        <button
          type="button"
          disabled={picked.length < 2}
          onClick={() => navigate(`/compare?ids=${picked.map(encodeURIComponent).join(",")}`)}
        >
          Compare selected ({picked.length})
        </button>
        {picked.length > 0 && (
          <button type="button" className="picked" onClick={() => setPicked([])}>
            Clear selection
          </button>
        )}
      </p>
      {executions.isError && <p role="alert">Could not list executions: {executions.error.message}</p>}
      {abort.isError && <p role="alert">Could not abort: {abort.error.message}</p>}
      {rows && rows.length === 0 && <p>No executions match.</p>}
      {rows && rows.length > 0 && (
        <div className="list-scroll" ref={ref} tabIndex={0} role="region" aria-label="executions table">
        <table className="executions">
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Compare</span>
              </th>
              <th scope="col">Execution</th>
              <th scope="col">Workflow</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Duration</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {w.before > 0 && (
              <tr aria-hidden="true" style={{ height: w.before }}>
                <td colSpan={7} />
              </tr>
            )}
            {rows.slice(w.start, w.end).map((e) => (
              <tr key={e.execution_id} data-execution={e.execution_id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`compare ${e.execution_id}`}
                    checked={picked.includes(e.execution_id)}
                    onChange={(ev) =>
                      setPicked(
                        ev.target.checked
                          ? [...picked, e.execution_id]
                          : picked.filter((id) => id !== e.execution_id),
                      )
                    }
                  />
                </td>
                <td>
                  <Link to={executionPath(e.execution_id)}>{e.execution_id}</Link>
                </td>
                <td>{e.workflow}</td>
                <td>
                  <Status status={e.status} />
                </td>
                <td>{when(e.created_at)}</td>
                <td>{seconds(e.started_at, e.ended_at)}</td>
                <td>
                  {!ended(e.status) && mayAbort && (
                    <button
                      type="button"
                      disabled={abort.isPending && abort.variables === e.execution_id}
                      onClick={() => abort.mutate(e.execution_id)}
                    >
                      Abort
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {w.after > 0 && (
              <tr aria-hidden="true" style={{ height: w.after }}>
                <td colSpan={7} />
              </tr>
            )}
          </tbody>
        </table>
        </div>
      )}
      {executions.hasNextPage && (
        <button
          type="button"
          className="more"
          disabled={executions.isFetchingNextPage}
          onClick={() => void executions.fetchNextPage()}
        >
          Older
        </button>
      )}
    </section>
  );
}
