import { lazy, Suspense, useMemo } from "react";
import { useQueries } from "@tanstack/react-query";
import { ended, getExecution, type ExecutionDetail } from "./api";
import { compareRows, curves, type Section } from "./compare";
import { Link } from "./Link";
import { executionPath } from "./router";

const MetricChart = lazy(() => import("./MetricChart"));

const TITLES: Record<Section, string> = {
  execution: "Execution",
  input: "Inputs",
  param: "Params",
  metric: "Final metrics",
};

/** Executions side by side (inputs, params, final metrics; the rows that differ
 * highlighted) and each metric's curves overlaid, step on x. */
export function ComparePage({ ids }: { ids: string[] }) {
  const results = useQueries({
    queries: ids.map((id) => ({
      queryKey: ["execution", id],
      queryFn: () => getExecution(id),
      refetchInterval: (q: { state: { data?: ExecutionDetail } }) =>
        q.state.data && ended(q.state.data.status) ? false : 2000,
    })),
  });
  const loaded = results.every((r) => r.data !== undefined);
  const failed = results.find((r) => r.isError);
  const executions = useMemo(
    () => (loaded ? results.map((r) => r.data as ExecutionDetail) : []),
    [loaded, ...results.map((r) => r.dataUpdatedAt)],
  );
  const rows = useMemo(() => compareRows(executions), [executions]);
  const charts = useMemo(() => curves(executions), [executions]);

  if (ids.length < 2) return <p role="alert">Pick two executions or more in the list to compare them.</p>;
  if (failed?.error) return <p role="alert">{failed.error.message}</p>;
  if (!loaded) return <p>Loading {ids.length} executions…</p>;
  const sections = (Object.keys(TITLES) as Section[]).filter((s) => rows.some((r) => r.section === s));
  return (
    <section className="compare" aria-labelledby="compare-title">
      <h1 id="compare-title">Compare {ids.length} executions</h1>
      <p className="muted">
        {rows.filter((r) => r.differs).length} of {rows.length} rows differ (highlighted).
      </p>
      <div className="compare-scroll">
        <table className="compare-table">
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Field</span>
              </th>
              {ids.map((id) => (
                <th scope="col" key={id}>
                  <Link to={executionPath(id)}>{id}</Link>
                </th>
              ))}
            </tr>
          </thead>
          {sections.map((s) => (
            <tbody key={s}>
              <tr className="compare-section">
                <th scope="colgroup" colSpan={ids.length + 1}>
                  {TITLES[s]}
                </th>
              </tr>
              {rows
                .filter((r) => r.section === s)
                .map((r) => (
                  <tr key={`${s}-${r.name}`} data-row={`${s}:${r.name}`} data-differs={r.differs} className={r.differs ? "differs" : undefined}>
                    <th scope="row">
                      {r.name}
                      {r.differs && <span className="visually-hidden"> (differs)</span>}
                    </th>
                    {r.cells.map((c, i) => (
                      <td key={ids[i]}>
                        <code>{c}</code>
                      </td>
                    ))}
                  </tr>
                ))}
            </tbody>
          ))}
        </table>
      </div>
      <h2>Metric curves</h2>
      {charts.length === 0 && <p className="muted">No numeric metric was logged.</p>}
      <Suspense fallback={<p>Loading charts…</p>}>
        <div className="charts">
          {charts.map((c) => (
            <MetricChart key={c.name} curves={c} labels={ids} />
          ))}
        </div>
      </Suspense>
    </section>
  );
}
