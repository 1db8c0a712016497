// One metric's curves, one per execution, step on x: uPlot on a canvas (loaded with the
// compare page only, so the first load stays small).
import { useEffect, useMemo, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Curves } from "./compare";

/** A distinct, dark enough colour per series (golden-angle hues). */
export function colour(i: number): string {
  return `hsl(${Math.round((i * 137.508) % 360)} 70% 38%)`;
}

export default function MetricChart({ curves, labels }: { curves: Curves; labels: string[] }) {
  const box = useRef<HTMLDivElement>(null);
  // Rebuilt only when the data change (the query keeps the same answer's objects on a
  // refetch of the same data), not on every render.
  const names = useMemo(() => labels, [labels.join(",")]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const { x, ys, name } = curves;
    const many = names.length > 12;
    const plot = new uPlot(
      {
        title: name,
        width: Math.max(320, Math.min(900, el.clientWidth || 640)),
        height: 260,
        scales: { x: { time: false } },
        axes: [{ label: "step" }, {}],
        legend: { show: !many },
        series: [
          { label: "step" },
          ...names.map((label, i) => ({ label, stroke: colour(i), width: 1.5, spanGaps: true, points: { show: x.length <= 40 } })),
        ],
      },
      [x, ...ys] as uPlot.AlignedData,
      el,
    );
    return () => plot.destroy();
  }, [curves, names]);
  return (
    <figure className="chart" data-chart={curves.name}>
      <figcaption className="visually-hidden">
        {curves.name} by step, {labels.length} executions
      </figcaption>
      <div ref={box} />
    </figure>
  );
}
