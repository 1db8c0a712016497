import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ExecutionPage } from "./ExecutionPage";
import type { ExecutionDetail, NodeShape } from "./api";
import { applyEvent } from "./live";

// The execution page draws the whole DAG of the execution's IR (GET .../graph), the
// nodes not started as PENDING; and an end known from the event stream only is polled
// until the server's own answer (with the last node's outputs) replaces it.
const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
let answers: Record<string, () => Response>;
const asked: string[] = [];

const node = (id: string, status: string, outputs: Record<string, string> = {}): NodeShape => ({
  node_id: id, task: `wf:${id}`, kind: "task", status, attempts: status === "PENDING" ? 0 : 1,
  started_at: 1, ended_at: status === "RUNNING" ? null : 2, duration: null, cache_key: null,
  source_execution: null, source_node: null, inputs: {}, outputs, error: null, params: {}, metrics: [],
});
const detail = (status: string, nodes: NodeShape[]): ExecutionDetail => ({
  execution_id: "e1", workflow: "wf:diamond", source: "bundle:b", status, parent_id: null, error: null,
  inputs: {}, outputs: null, created_at: 1, started_at: 1, ended_at: null, nodes, input_values: {},
  project: "default", domain: "development",
});
const plan = {
  execution_id: "e1", planned: true, source: "registered",
  nodes: ["load", "total", "biggest", "report"].map((id) => ({ node_id: id, kind: "task", task: `wf:${id}` })),
  edges: [
    { source: "load", target: "total" }, { source: "load", target: "biggest" },
    { source: "total", target: "report" }, { source: "biggest", target: "report" },
  ],
};

beforeEach(() => {
  asked.length = 0;
  vi.stubGlobal("ResizeObserver", class { observe() {} unobserve() {} disconnect() {} });
  vi.stubGlobal("fetch", async (input: string) => {
    const url = new URL(input, "http://ui.test");
    asked.push(url.pathname);
    if (url.pathname === "/api/v1/whoami") return json({ user: "anonymous", auth: false, admin: true, roles: {} });
    const answer = answers[url.pathname];
    return answer ? answer() : json({ error: `no route ${url.pathname}` }, 404);
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function wrap(client: QueryClient) {
  return render(
    <QueryClientProvider client={client}>
      <ExecutionPage id="e1" />
    </QueryClientProvider>,
  );
}

describe("the execution page's DAG from the IR", () => {
  it("draws a queued launch's nodes before any runs, as not started", async () => {
    answers = {
      "/api/v1/executions/e1": () => json(detail("QUEUED", [])),
      "/api/v1/executions/e1/graph": () => json(plan),
    };
    wrap(new QueryClient({ defaultOptions: { queries: { retry: false } } }));
    expect(await screen.findByText(/0 of 4 nodes started/)).toBeTruthy();
    await waitFor(() => expect(document.querySelectorAll('[data-node][data-status="PENDING"]')).toHaveLength(4));
    expect(screen.getAllByText("not started")).toHaveLength(4);
    expect(document.querySelectorAll(".react-flow__edge")).toHaveLength(4);
    fireEvent.click(document.querySelector('.react-flow__node[data-id="report"]')!);
    const panel = await screen.findByRole("complementary", { name: "node report" });
    expect(panel.textContent).toContain("PENDING");
    expect(panel.textContent).toContain("wf:report");
  });

  it("without an IR (an older server's 404) draws the recorded nodes", async () => {
    answers = { "/api/v1/executions/e1": () => json(detail("RUNNING", [node("load", "SUCCEEDED"), node("total", "RUNNING")])) };
    wrap(new QueryClient({ defaultOptions: { queries: { retry: false } } }));
    expect(await screen.findByText(/· 2 nodes/)).toBeTruthy();
    await waitFor(() => expect(document.querySelectorAll("[data-node]")).toHaveLength(2));
    expect(asked).toContain("/api/v1/executions/e1/graph");
  });
});

describe("the end of an execution from the event stream", () => {
  it("is refetched until the server's answer has the last node's outputs", async () => {
    let done = false;
    const running = detail("RUNNING", [node("load", "SUCCEEDED"), node("report", "RUNNING")]);
    answers = {
      "/api/v1/executions/e1": () => json(done ? { ...detail("SUCCEEDED", [node("load", "SUCCEEDED"), node("report", "SUCCEEDED", { o0: "h-r" })]), ended_at: 3 } : running),
      "/api/v1/executions/e1/graph": () => json({ ...plan, planned: false, nodes: [], edges: [] }),
      "/api/v1/artifacts/h-r": () => json({ hash: "h-r", format: "json", type: {}, size: 12, uri: null, inline: '"sum=6 max=3"', created_at: 1, purged: false }),
    };
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    wrap(client);
    fireEvent.click(await waitFor(() => {
      const found = document.querySelector('.react-flow__node[data-id="report"]');
      if (!found) throw new Error("no report node yet");
      return found;
    }));
    await screen.findByRole("complementary", { name: "node report" });
    // The end event patches the cached detail (its refetch lost: no request is made
    // here); the server has meanwhile recorded everything.
    done = true;
    const end = { seq: 9, execution_id: "e1", node_id: "", kind: "execution", status: "SUCCEEDED", at: 3, data: {} };
    client.setQueryData<ExecutionDetail>(["execution", "e1"], (d) => (d ? applyEvent(d, end) : d));
    expect(await screen.findByText('"sum=6 max=3"', {}, { timeout: 10_000 })).toBeTruthy();
    expect(client.getQueryData<ExecutionDetail>(["execution", "e1"])?.patched).toBeUndefined();
  });
});
