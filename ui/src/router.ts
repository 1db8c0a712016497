// A two-route history router: "/" (executions) and "/executions/<id>".
import { useSyncExternalStore } from "react";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  return () => window.removeEventListener("popstate", onChange);
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

export function navigate(path: string): void {
  if (path === window.location.pathname) return;
  window.history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export type Route = { page: "executions" } | { page: "execution"; id: string } | { page: "missing" };

export function route(path: string): Route {
  if (path === "/" || path === "") return { page: "executions" };
  const m = /^\/executions\/([^/]+)\/?$/.exec(path);
  if (m?.[1]) return { page: "execution", id: decodeURIComponent(m[1]) };
  return { page: "missing" };
}
