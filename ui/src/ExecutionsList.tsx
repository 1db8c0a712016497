import { useState } from "react";
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { abortExecution, ended, EXECUTION_STATUSES, listExecutions, PAGE } from "./api";
import { seconds, when } from "./format";
import { Link } from "./Link";
import { executionPath, navigate } from "./router";
import { Status } from "./Status";

/** Executions, newest first, filtered by workflow and status; polled every second
 * while one is unfinished (every 5 s otherwise), so statuses change without a reload. */
export function ExecutionsList() {
  const [workflow, setWorkflow] = useState("");
  const [status, setStatus] = useState("");
  const [picked, setPicked] = useState<string[]>([]); // to compare, in the order picked
  const client = useQueryClient();
  const filters = { workflow: workflow.trim(), status };
  // Pages of 100, newest first; "Older" fetches the next page (``before`` = the last
  // row's created_at). Every loaded page is refetched by the polling.
  const executions = useInfiniteQuery({
    queryKey: ["executions", filters],
    queryFn: ({ pageParam }) => listExecutions({ ...filters, before: pageParam }),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => (last.length === PAGE ? last[last.length - 1]?.created_at : undefined),
    refetchInterval: (query) =>
      (query.state.data?.pages ?? []).some((p) => p.some((e) => !ended(e.status))) ? 1000 : 5000,
  });
  const rows = executions.data?.pages.flat();
  const abort = useMutation({
    mutationFn: abortExecution,
    onSettled: () => client.invalidateQueries({ queryKey: ["executions"] }),
  });

  return (
    <section aria-labelledby="executions-title">
      <h1 id="executions-title">Executions</h1>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
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
          <select name="status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            {EXECUTION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </form>
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
            {rows.map((e) => (
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
                  {!ended(e.status) && (
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
          </tbody>
        </table>
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
