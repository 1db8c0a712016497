import { useEffect, useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { comparedDetail, ended, getCompared } from "./api";
import { compareRows, curves, type Section } from "./compare";
import { Link } from "./Link";
import { executionPath } from "./router";

// The chart (uPlot) is a chunk of its own, loaded when the page opens, beside the data.
// Held in state rather than React.lazy: a lazy component suspends on its first render
// even when its chunk is in, and React then holds the reveal back (~300 ms).
type Chart = typeof import("./MetricChart").default;

const TITLES: Record<Section, string> = {
  execution: "Execution",
  input: "Inputs",
  param: "Params",
  metric: "Final metrics",
};

/** Executions side by side (inputs, params, final metrics; the rows that differ
 * highlighted) and each metric's curves overlaid, step on x. */
export function ComparePage({ ids }: { ids: string[] }) {
  const [MetricChart, setChart] = useState<Chart | null>(null);
  useEffect(() => {
    let live = true;
    void import("./MetricChart").then((m) => live && setChart(() => m.default));
    return () => {
      live = false;
    };
  }, []);
  // One request for all of them (their metrics as columns); again every 2 s while one runs.
  const compared = useQuery({
    queryKey: ["compare", ids.join(",")],
    queryFn: () => getCompared(ids),
    enabled: ids.length >= 2,
    refetchInterval: (q) => (q.state.data && q.state.data.every((e) => ended(e.status)) ? false : 2000),
  });
  const loaded = compared.data !== undefined;
  const failed = compared.isError ? compared : undefined;
  const executions = useMemo(() => (compared.data ?? []).map(comparedDetail), [compared.data]);
  const rows = useMemo(() => compareRows(executions), [executions]);
  const charts = useMemo(() => curves(compared.data ?? []), [compared.data]);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const toggle = (name: string) =>
    setHidden((h) => {
      const next = new Set(h);
      if (!next.delete(name)) next.add(name);
      return next;
    });

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
      {charts.length > 1 && (
        <fieldset className="metric-toggles">
          <legend>Metrics shown</legend>
          {charts.map((c) => (
            <label key={c.name}>
              <input type="checkbox" data-metric-toggle={c.name} checked={!hidden.has(c.name)} onChange={() => toggle(c.name)} />{" "}
              {c.name}
            </label>
          ))}
        </fieldset>
      )}
      {MetricChart === null ? (
        charts.length > 0 && <p>Loading charts…</p>
      ) : (
        <div className="charts">
          {charts.filter((c) => !hidden.has(c.name)).map((c) => (
            <MetricChart key={c.name} curves={c} labels={ids} />
          ))}
        </div>
      )}
    </section>
  );
}
