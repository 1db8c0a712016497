// A small history router: "/" (executions), "/executions/<id>" and "/launch".
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

export type Route =
  | { page: "executions" }
  | { page: "execution"; id: string }
  | { page: "launch" }
  | { page: "missing" };

export function route(path: string): Route {
  if (path === "/" || path === "") return { page: "executions" };
  if (path === "/launch" || path === "/launch/") return { page: "launch" };
  const m = /^\/executions\/([^/]+)\/?$/.exec(path);
  if (m?.[1]) return { page: "execution", id: decodeURIComponent(m[1]) };
  return { page: "missing" };
}
