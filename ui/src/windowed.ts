// Windowing for long lists of fixed-height rows: only the rows in view of a scrolling
// container (and a few either side) are in the DOM. Lists up to a threshold are drawn
// whole (nothing to gain, and tests and screen readers see every row).
import { useCallback, useEffect, useState } from "react";

export interface Window {
  start: number; // the first row drawn
  end: number; // one past the last
  before: number; // px of the rows above, not drawn
  after: number; // px of the rows below, not drawn
}

/** The rows to draw for a container of ``height`` px scrolled to ``top``. */
export function rowsInView(count: number, rowHeight: number, top: number, height: number, overscan: number): Window {
  const start = Math.max(0, Math.min(count, Math.floor(top / rowHeight) - overscan));
  const end = Math.max(start, Math.min(count, Math.ceil((top + height) / rowHeight) + overscan));
  return { start, end, before: start * rowHeight, after: (count - end) * rowHeight };
}

const ALL = (count: number): Window => ({ start: 0, end: count, before: 0, after: 0 });

/** The window of a scrolling element (give ``ref`` to it). Past ``threshold`` rows
 * only the ones in view are drawn; the element's height is read on scroll and resize. */
export function useWindowed<E extends HTMLElement>(
  count: number,
  rowHeight: number,
  threshold = 200,
  overscan = 10,
): { ref: (element: E | null) => void; window: Window } {
  const [element, setElement] = useState<E | null>(null);
  const [view, setView] = useState({ top: 0, height: 0 });
  const ref = useCallback((e: E | null) => setElement(e), []);
  useEffect(() => {
    if (element === null) return;
    const read = () => setView({ top: element.scrollTop, height: element.clientHeight || 800 });
    read();
    element.addEventListener("scroll", read, { passive: true });
    window.addEventListener("resize", read);
    return () => {
      element.removeEventListener("scroll", read);
      window.removeEventListener("resize", read);
    };
  }, [element]);
  const windowed = count > threshold;
  return {
    ref,
    window: windowed ? rowsInView(count, rowHeight, view.top, view.height || 800, overscan) : ALL(count),
  };
}
