// A small history router: "/" (executions), "/executions/<id>", "/launch[?from=<id>]",
// "/compare?ids=<id>,<id>", "/lineage/<ref>", "/versions", "/versions/<version>?project=&domain=",
// "/launchplans" and "/models"; "/versions/<version>?...&compare=<other>" diffs two versions' code.
import { useSyncExternalStore } from "react";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  return () => window.removeEventListener("popstate", onChange);
}

/** The path and its query string ("/launch?from=abc"). */
export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname + window.location.search);
}

/** Go to ``path``; ``replace``: in place of the current history entry (a filter
 * changed, not a new page). */
export function navigate(path: string, replace = false): void {
  if (path === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

/** The page of one execution, and the lineage page of a reference (EXEC, EXEC:NODE or a hash). */
export const executionPath = (id: string): string => `/executions/${encodeURIComponent(id)}`;
export const lineagePath = (ref: string): string => `/lineage/${encodeURIComponent(ref)}`;

/** The page of a registered version (its code), in a project and domain. */
export function versionPath(version: string, project: string, domain: string, file?: string, compare?: string | null): string {
  const query = new URLSearchParams({ project, domain });
  if (file) query.set("file", file);
  if (compare) query.set("compare", compare);
  return `/versions/${encodeURIComponent(version)}?${query.toString()}`;
}

export type Route =
  | { page: "executions" }
  | { page: "execution"; id: string }
  | { page: "launch"; from: string | null; name: string | null; project: string; domain: string }
  | { page: "versions" }
  | { page: "version"; version: string; project: string; domain: string; file: string | null; compare: string | null }
  | { page: "launchplans" }
  | { page: "models" }
  | { page: "compare"; ids: string[] }
  | { page: "lineage"; ref: string }
  | { page: "missing" };

export function route(full: string): Route {
  const q = full.indexOf("?");
  const path = q < 0 ? full : full.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : full.slice(q + 1));
  if (path === "/" || path === "") return { page: "executions" };
  if (path === "/launch" || path === "/launch/")
    return {
      page: "launch",
      from: query.get("from") || null,
      name: query.get("name") || null,
      project: query.get("project") || "default",
      domain: query.get("domain") || "development",
    };
  if (path === "/versions" || path === "/versions/") return { page: "versions" };
  if (path === "/launchplans" || path === "/launchplans/") return { page: "launchplans" };
  if (path === "/models" || path === "/models/") return { page: "models" };
  if (path === "/compare" || path === "/compare/") {
    const ids = (query.get("ids") ?? "").split(",").filter((id) => id !== "");
    return { page: "compare", ids: [...new Set(ids)] };
  }
  const m = /^\/executions\/([^/]+)\/?$/.exec(path);
  if (m?.[1]) return { page: "execution", id: decodeURIComponent(m[1]) };
  const v = /^\/versions\/([^/]+)\/?$/.exec(path);
  if (v?.[1])
    return {
      page: "version",
      version: decodeURIComponent(v[1]),
      project: query.get("project") || "default",
      domain: query.get("domain") || "development",
      file: query.get("file") || null,
      compare: query.get("compare") || null,
    };
  const l = /^\/lineage\/([^/]+)\/?$/.exec(path);
  if (l?.[1]) return { page: "lineage", ref: decodeURIComponent(l[1]) };
  return { page: "missing" };
}
