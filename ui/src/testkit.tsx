// Shared by the component tests: a JSON answer for a stubbed fetch, the anonymous
// caller's /whoami, a render inside a fresh QueryClient (no retries), and the launch
// form's stubbed server.
import type { ReactElement } from "react";
import { render } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { vi } from "vitest";
import { LaunchPage } from "./LaunchPage";
import type { Descriptor } from "./api";

export const jsonResponse = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export const ANONYMOUS = { user: "anonymous", auth: false, admin: true, roles: {} };

export function newClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: false } } });
}

export function renderWithClient(ui: ReactElement, client: QueryClient = newClient()) {
  return render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>);
}

// The launch form's server, stubbed: /whoami is the anonymous caller, /versions lists
// ``versions``, ``route`` may answer any other path first (an upload), /launch answers
// ``executionId``, anything else is a 404. Every request is kept, in order, in the
// returned calls; ``launches(calls)`` are the launch bodies sent so far.
export type Call = { method: string; path: string; body: unknown };

export function stubLaunchApi(
  versions: unknown[],
  { executionId = "e-new", route }: { executionId?: string; route?: (url: URL) => Response | undefined } = {},
): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://ui.test");
    calls.push({ method: init?.method ?? "GET", path: `${url.pathname}${url.search}`, body: init?.body });
    if (url.pathname === "/api/v1/whoami") return jsonResponse(ANONYMOUS);
    if (url.pathname === "/api/v1/versions") return jsonResponse(versions);
    const answer = route?.(url);
    if (answer) return answer;
    if (url.pathname === "/api/v1/launch") return jsonResponse({ execution_id: executionId });
    return jsonResponse({ error: `no route ${url.pathname}` }, 404);
  });
  return calls;
}

export const launches = (calls: Call[]): unknown[] =>
  calls.filter((c) => c.path === "/api/v1/launch").map((c) => JSON.parse(String(c.body)));

// A registered workflow as /versions lists it: version v1 of ``name`` (identity
// wf:<name without its module>), taking ``inputs`` with these ``defaults``.
export function workflowVersion(
  name: string, inputs: Record<string, Descriptor>, defaults: Record<string, unknown> = {}, project = "default",
) {
  return {
    name, kind: "workflow", version: "v1", project, domain: "development", created_at: 1,
    identity: `wf:${name.split(".").pop()}`, interface: { inputs, defaults },
  };
}

export function renderLaunch(name: string, project?: string) {
  return renderWithClient(<LaunchPage name={name} project={project} />);
}
