// The executions list's filters as the URL keeps them (/?status=FAILED&since=24h...)
// and as the API takes them (GET /executions: project, domain, workflow, status, and
// since <= created_at < until in epoch seconds). Pure: no React, no fetch.

export interface ListFilters {
  project: string;
  domain: string;
  workflow: string;
  status: string;
  /** A preset ("1h", "24h", "7d", "30d") or a local date-time ("2026-12-01T09:30"). */
  since: string;
  /** A local date-time, or "". */
  until: string;
}

export const NO_FILTERS: ListFilters = { project: "", domain: "", workflow: "", status: "", since: "", until: "" };
const KEYS = Object.keys(NO_FILTERS) as (keyof ListFilters)[];

export const SINCE_PRESETS: [string, string, number][] = [
  ["1h", "last hour", 3600],
  ["24h", "last day", 86_400],
  ["7d", "last 7 days", 7 * 86_400],
  ["30d", "last 30 days", 30 * 86_400],
];

export function parseFilters(search: string): ListFilters {
  const query = new URLSearchParams(search);
  const out = { ...NO_FILTERS };
  for (const key of KEYS) out[key] = query.get(key) ?? "";
  return out;
}

/** The query string of the URL ("" when no filter is set, else "?..."). */
export function filtersSearch(f: ListFilters): string {
  const query = new URLSearchParams();
  for (const key of KEYS) if (f[key] !== "") query.set(key, f[key]);
  const s = query.toString();
  return s === "" ? "" : `?${s}`;
}

/** Epoch seconds of a preset (from ``now``, in seconds) or a local date-time; null
 * when empty or not understood. */
export function epoch(value: string, now: number): number | null {
  if (value === "") return null;
  const preset = SINCE_PRESETS.find(([key]) => key === value);
  if (preset) return now - preset[2];
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/** What the filters ask the API (without paging). A range given backwards is refused
 * here, in one line, before any request. */
export function apiFilters(
  f: ListFilters,
  now: number,
): { query: Record<string, string | number>; error: string | null } {
  const query: Record<string, string | number> = {};
  for (const key of ["project", "domain", "status"] as const) if (f[key]) query[key] = f[key];
  if (f.workflow.trim()) query.workflow = f.workflow.trim();
  const since = epoch(f.since, now);
  const until = epoch(f.until, now);
  if (since !== null) query.since = since;
  if (until !== null) query.until = until;
  if (since !== null && until !== null && since >= until)
    return { query, error: "the time range is empty: From is not before To" };
  return { query, error: null };
}
