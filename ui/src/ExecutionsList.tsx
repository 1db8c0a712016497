import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { abortExecution, ended, EXECUTION_STATUSES, listExecutions } from "./api";
import { seconds, when } from "./format";
import { navigate } from "./router";
import { Status } from "./Status";

/** Executions, newest first, filtered by workflow and status; polled every second
 * while one is unfinished (every 5 s otherwise), so statuses change without a reload. */
export function ExecutionsList() {
  const [workflow, setWorkflow] = useState("");
  const [status, setStatus] = useState("");
  const client = useQueryClient();
  const filters = { workflow: workflow.trim(), status };
  const executions = useQuery({
    queryKey: ["executions", filters],
    queryFn: () => listExecutions(filters),
    refetchInterval: (query) =>
      (query.state.data ?? []).some((e) => !ended(e.status)) ? 1000 : 5000,
  });
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
      {executions.isError && <p role="alert">Could not list executions: {executions.error.message}</p>}
      {abort.isError && <p role="alert">Could not abort: {abort.error.message}</p>}
      {executions.data && executions.data.length === 0 && <p>No executions match.</p>}
      {executions.data && executions.data.length > 0 && (
        <table className="executions">
          <thead>
            <tr>
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
            {executions.data.map((e) => (
              <tr key={e.execution_id} data-execution={e.execution_id}>
                <td>
                  <a
                    href={`/executions/${encodeURIComponent(e.execution_id)}`}
                    onClick={(ev) => {
                      ev.preventDefault();
                      navigate(`/executions/${encodeURIComponent(e.execution_id)}`);
                    }}
                  >
                    {e.execution_id}
                  </a>
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
    </section>
  );
}
