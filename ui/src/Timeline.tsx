import type { NodeShape } from "./api";
import { seconds } from "./format";
import { useWindowed } from "./windowed";

export const LANE_HEIGHT = 22; // px, as .lane in style.css

/** A Gantt chart of the nodes' run times, on the execution's time axis (SVG-free:
 * one bar per node that started, positioned in percent). Its lanes scroll; past 200,
 * only those in view are drawn. */
export function Timeline({ nodes, start, end }: { nodes: NodeShape[]; start: number | null; end: number | null }) {
  const started = nodes.filter((n) => n.started_at !== null);
  const { ref, window: w } = useWindowed<HTMLDivElement>(started.length, LANE_HEIGHT);
  if (started.length === 0) return null;
  const now = Date.now() / 1000;
  const t0 = Math.min(start ?? Infinity, ...started.map((n) => n.started_at as number));
  const t1 = Math.max(end ?? 0, ...started.map((n) => n.ended_at ?? now), t0 + 1e-3);
  const span = t1 - t0;
  const ordered = [...started].sort((a, b) => (a.started_at as number) - (b.started_at as number));
  return (
    <section className="timeline" aria-label="timeline">
      <h2>Timeline <span className="muted">{seconds(t0, t1)}</span></h2>
      <div className="lanes" ref={ref} tabIndex={0} role="region" aria-label="timeline lanes">
        <div style={{ height: w.before }} />
        {ordered.slice(w.start, w.end).map((n) => {
          const from = ((n.started_at as number) - t0) / span;
          const to = ((n.ended_at ?? now) - t0) / span;
          return (
            <div className="lane" key={n.node_id} data-bar={n.node_id}>
              <span className="lane-name">{n.node_id}</span>
              <span className="lane-track">
                <span
                  className={`bar status-${n.status.toLowerCase()}`}
                  style={{ left: `${(from * 100).toFixed(2)}%`, width: `${Math.max(0.5, (to - from) * 100).toFixed(2)}%` }}
                  title={`${n.node_id}: ${seconds(n.started_at, n.ended_at)} (${n.status})`}
                />
              </span>
              <span className="lane-time muted">{seconds(n.started_at, n.ended_at)}</span>
            </div>
          );
        })}
        <div style={{ height: w.after }} />
      </div>
    </section>
  );
}
