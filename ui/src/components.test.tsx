import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// jsdom has no canvas: the chart (uPlot) is checked in the browser (e2e/run.mjs); here
// it is a stand-in that shows what it was given.
vi.mock("./MetricChart", () => ({
  default: ({ curves, labels }: { curves: { name: string; ys: unknown[][] }; labels: string[] }) => (
    <figure data-chart={curves.name}>{`${curves.name}: ${labels.join(",")} ${JSON.stringify(curves.ys)}`}</figure>
  ),
}));
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { ComparePage } from "./ComparePage";
import { ExecutionsList } from "./ExecutionsList";
import { LaunchPage } from "./LaunchPage";
import { LineagePage } from "./LineagePage";
import { NodePanel } from "./NodePanel";
import { Timeline } from "./Timeline";
import type { NodeShape } from "./api";

// The component tests answer the API calls from a table; the real server is the
// end-to-end test's (e2e/run.mjs).
type Answer = { status?: number; body: unknown };
const OPEN_SERVER = { user: "anonymous", auth: false, admin: true, roles: {} };
let routes: Record<string, (url: URL, init?: RequestInit) => Answer>;
const calls: string[] = [];
const bodies: unknown[] = [];

beforeEach(() => {
  window.history.replaceState(null, "", "/"); // the list keeps its filters in the URL
  calls.length = 0;
  bodies.length = 0;
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://ui.test");
    calls.push(`${init?.method ?? "GET"} ${url.pathname}${url.search}`);
    if (typeof init?.body === "string") bodies.push(JSON.parse(init.body));
    // Who the token is: an open server's answer unless a test says otherwise.
    const handler = routes[`${init?.method ?? "GET"} ${url.pathname}`] ??
      (url.pathname === "/api/v1/whoami" ? (): Answer => ({ body: OPEN_SERVER }) : undefined);
    const answer = handler ? handler(url, init) : { status: 404, body: { error: `no route ${url.pathname}` } };
    return new Response(JSON.stringify(answer.body), {
      status: answer.status ?? 200,
      headers: { "content-type": "application/json" },
    });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function wrap(ui: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>);
}

const summary = (id: string, status: string) => ({
  execution_id: id, workflow: "wf:diamond", status, created_at: 1_700_000_000,
  started_at: 1_700_000_000, ended_at: status === "RUNNING" ? null : 1_700_000_001,
  parent_id: null, error: null,
});

describe("ExecutionsList", () => {
  it("lists executions, filters by status and aborts a running one", async () => {
    let aborted = false;
    routes = {
      "GET /api/v1/executions": (url) => {
        const rows = [summary("e-done", "SUCCEEDED"), summary("e-run", aborted ? "ABORTED" : "RUNNING")];
        const status = url.searchParams.get("status");
        return { body: status ? rows.filter((r) => r.status === status) : rows };
      },
      "POST /api/v1/executions/e-run/abort": () => {
        aborted = true;
        return { body: summary("e-run", "ABORTED") };
      },
    };
    wrap(<ExecutionsList />);
    expect(await screen.findByText("e-done")).toBeTruthy();
    expect(screen.getByText("e-run")).toBeTruthy();
    // Only the unfinished execution has an Abort button.
    expect(screen.getAllByRole("button", { name: "Abort" })).toHaveLength(1);

    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "SUCCEEDED" } });
    await waitFor(() => expect(screen.queryByText("e-run")).toBeNull());
    expect(calls).toContain("GET /api/v1/executions?status=SUCCEEDED&limit=100");

    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "" } });
    fireEvent.click(await screen.findByRole("button", { name: "Abort" }));
    await waitFor(() => expect(screen.queryByRole("button", { name: "Abort" })).toBeNull());
    expect(calls).toContain("POST /api/v1/executions/e-run/abort");
    expect(document.querySelector('tr[data-execution="e-run"] [data-status="ABORTED"]')).not.toBeNull();
  });

  it("says so when the server refuses the listing", async () => {
    routes = { "GET /api/v1/executions": () => ({ status: 400, body: { error: "bad status 'X'" } }) };
    wrap(<ExecutionsList />);
    expect((await screen.findByRole("alert")).textContent).toContain("bad status 'X'");
  });
});

describe("NodePanel", () => {
  it("shows the inputs and outputs inline, and each attempt with its traceback and logs", async () => {
    const node: NodeShape = {
      node_id: "total", task: "wf:total", kind: "task", status: "SUCCEEDED", attempts: 2,
      started_at: 1, ended_at: 2, duration: 1, cache_key: "abc", source_execution: null,
      source_node: null, inputs: { xs: "h1" }, outputs: { o0: "h2" }, error: null, params: {},
      metrics: [],
    };
    const artifact = (hash: string, inline: string) => ({
      hash, format: "json", type: {}, size: inline.length, uri: null, inline, created_at: 0, purged: false,
    });
    routes = {
      "GET /api/v1/artifacts/h1": () => ({ body: artifact("h1", "[0, 1, 2]") }),
      "GET /api/v1/artifacts/h2": () => ({ body: artifact("h2", "3") }),
      "GET /api/v1/executions/e1/nodes/total/logs": (url) => {
        const n = Number(url.searchParams.get("attempt"));
        return {
          body: {
            execution_id: "e1", node_id: "total", attempt: n, status: n === 1 ? "FAILED" : "SUCCEEDED",
            logs: `log of attempt ${n}`, traceback: n === 1 ? "ValueError: flaky" : null,
          },
        };
      },
    };
    wrap(<NodePanel executionId="e1" node={node} />);
    expect(await screen.findByText("[0,1,2]")).toBeTruthy();
    expect(await screen.findByText("3")).toBeTruthy();
    expect(await screen.findByText("log of attempt 1")).toBeTruthy();
    expect(await screen.findByText("log of attempt 2")).toBeTruthy();
    expect(screen.getByText("ValueError: flaky")).toBeTruthy();
    expect(screen.getByRole("complementary", { name: "node total" })).toBeTruthy();
  });
});

describe("LaunchPage", () => {
  it("builds the form from the descriptors, refuses a bad value, then launches and opens the execution", async () => {
    const entity = (name: string, version: string, created_at: number) => ({
      name, kind: "workflow", version, project: "default", domain: "development", created_at,
      interface: {
        inputs: { n: { kind: "int" }, color: { kind: "enum", values: ["red", "blue"] } },
        defaults: { color: "blue" },
      },
    });
    routes = {
      "GET /api/v1/versions": () => ({
        body: [entity("wf.train", "v1", 1), entity("wf.train", "v2", 2),
               { ...entity("wf.step", "v2", 2), kind: "task" }],
      }),
      "POST /api/v1/launch": () => ({ body: { execution_id: "e-new" } }),
    };
    wrap(<LaunchPage />);
    const pick = await screen.findByLabelText("Workflow");
    // The latest version per workflow; tasks are not offered.
    expect([...(pick as HTMLSelectElement).options].map((o) => o.value)).toEqual(["", "wf.train"]);
    fireEvent.change(pick, { target: { value: "wf.train" } });
    expect(await screen.findByText(/version v2/)).toBeTruthy();
    expect((screen.getByLabelText(/^color/) as HTMLSelectElement).value).toBe('"blue"');

    fireEvent.change(screen.getByLabelText(/^n/), { target: { value: "3.5" } });
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    expect((await screen.findByRole("alert")).textContent).toBe("n expects an integer, got '3.5'");
    expect(calls.filter((c) => c.startsWith("POST"))).toEqual([]);

    fireEvent.change(screen.getByLabelText(/^n/), { target: { value: "4" } });
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    await waitFor(() => expect(window.location.pathname).toBe("/executions/e-new"));
    expect(bodies).toEqual([{ name: "wf.train", version: "v2", project: "default", domain: "development",
                              inputs: { n: 4, color: "blue" } }]);
  });

  it("shows the server's refusal", async () => {
    routes = {
      "GET /api/v1/versions": () => ({
        body: [{ name: "wf.a", kind: "workflow", version: "v1", project: "default", domain: "development",
                 created_at: 1, interface: { inputs: {}, defaults: {} } }],
      }),
      "POST /api/v1/launch": () => ({ status: 400, body: { error: "input 'n' expects int" } }),
    };
    wrap(<LaunchPage />);
    fireEvent.change(await screen.findByLabelText("Workflow"), { target: { value: "wf.a" } });
    fireEvent.click(await screen.findByRole("button", { name: "Launch" }));
    expect((await screen.findByRole("alert")).textContent).toContain("input 'n' expects int");
  });
});

describe("LaunchPage relaunch", () => {
  it("opens the execution's workflow, at the version that ran it, with its inputs prefilled", async () => {
    const entity = (version: string, created_at: number, bundle: string) => ({
      name: "wf.train", kind: "workflow", version, project: "default", domain: "development", created_at,
      identity: "wf:train", bundle_hash: bundle,
      interface: {
        inputs: { n: { kind: "int" }, xs: { kind: "list", item: { kind: "int" } }, data: { kind: "dataframe" },
                  color: { kind: "enum", values: ["red", "blue"] } },
        defaults: { color: "blue", data: null },
      },
    });
    routes = {
      "GET /api/v1/versions": () => ({ body: [entity("v1", 1, "b1"), entity("v2", 2, "b2")] }),
      "GET /api/v1/executions/e-old": () => ({
        body: {
          execution_id: "e-old", workflow: "wf:train", source: "bundle:b1", status: "SUCCEEDED", nodes: [],
          inputs: {}, outputs: null, parent_id: null, error: null, created_at: 1, started_at: 1, ended_at: 2,
          input_values: { n: 7, xs: [1, 2], color: "red",
                          data: { type: "DataFrame", hash: "ab", size: 10, uri: null, format: "parquet", pickled: false } },
        },
      }),
      "POST /api/v1/launch": () => ({ body: { execution_id: "e-again" } }),
    };
    wrap(<LaunchPage from="e-old" />);
    expect((await screen.findByRole("heading")).textContent).toBe("Relaunch e-old");
    expect(await screen.findByText(/version v1/)).toBeTruthy(); // the bundle that ran it, not the newest
    expect((screen.getByLabelText(/^n/) as HTMLInputElement).value).toBe("7");
    // a list of scalars: one row per item, prefilled
    expect((screen.getByLabelText("xs item 0") as HTMLInputElement).value).toBe("1");
    expect((screen.getByLabelText("xs item 1") as HTMLInputElement).value).toBe("2");
    expect((screen.getByLabelText(/^color/) as HTMLSelectElement).value).toBe('"red"');
    expect((screen.getByLabelText(/^data/) as HTMLTextAreaElement).value).toBe(""); // a file: its default
    fireEvent.change(screen.getByLabelText(/^n/), { target: { value: "8" } });
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    await waitFor(() => expect(window.location.pathname).toBe("/executions/e-again"));
    expect(bodies).toEqual([{ name: "wf.train", version: "v1", project: "default", domain: "development",
                              inputs: { n: 8, xs: [1, 2], color: "red" } }]);
  });

  it("says so when the execution's workflow is not registered", async () => {
    routes = {
      "GET /api/v1/versions": () => ({ body: [] }),
      "GET /api/v1/executions/e-local": () => ({
        body: { execution_id: "e-local", workflow: "wf:local", source: "file", status: "SUCCEEDED", nodes: [],
                inputs: {}, outputs: null, parent_id: null, error: null, created_at: 1, started_at: 1,
                ended_at: 2, input_values: {} },
      }),
    };
    wrap(<LaunchPage from="e-local" />);
    expect((await screen.findByRole("alert")).textContent).toContain("wf:local is not registered");
  });
});

describe("Compare", () => {
  it("picks executions in the list and opens the compare page with them", async () => {
    routes = {
      "GET /api/v1/executions": () => ({ body: [summary("e1", "SUCCEEDED"), summary("e2", "SUCCEEDED"), summary("e3", "FAILED")] }),
    };
    window.history.pushState(null, "", "/");
    wrap(<ExecutionsList />);
    const compare = await screen.findByRole("button", { name: "Compare selected (0)" });
    expect((compare as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(await screen.findByLabelText("compare e3"));
    fireEvent.click(screen.getByLabelText("compare e1"));
    const two = screen.getByRole("button", { name: "Compare selected (2)" });
    expect((two as HTMLButtonElement).disabled).toBe(false);
    fireEvent.click(two);
    expect(window.location.pathname + window.location.search).toBe("/compare?ids=e3,e1");
  });

  it("shows the executions side by side, differences marked, and a chart per metric", async () => {
    const compared = (id: string, n: number, losses: number[]) => ({
      execution_id: id, workflow: "wf:train", status: "SUCCEEDED", created_at: 1, started_at: 1, ended_at: 2,
      inputs: { n: "h" }, input_values: { n, seed: 1 }, params: { fit: { lr: 0.1 } },
      metrics: { fit: { loss: { steps: losses.map((_, step) => step), values: losses } } },
    });
    routes = {
      "GET /api/v1/compare": (url) => {
        expect(url.searchParams.get("ids")).toBe("a,b");  // one request for all of them
        return { body: [compared("a", 3, [3, 1]), compared("b", 4, [2])] };
      },
    };
    const { container } = wrap(<ComparePage ids={["a", "b"]} />);
    await screen.findByRole("heading", { name: "Compare 2 executions" });
    const row = (name: string) => container.querySelector(`tr[data-row="${name}"]`);
    expect(row("input:n")?.getAttribute("data-differs")).toBe("true");
    expect(row("input:n")?.textContent).toBe("n (differs)34");
    expect(row("input:seed")?.getAttribute("data-differs")).toBe("false");
    expect(row("param:fit.lr")?.getAttribute("data-differs")).toBe("false");
    expect(row("metric:fit.loss")?.textContent).toBe("fit.loss (differs)12");
    expect((await screen.findByText(/^fit\.loss: a,b/)).textContent).toBe("fit.loss: a,b [[3,1],[2,null]]");
  });

  it("hides and shows a metric's chart by its checkbox", async () => {
    const columns = { steps: [0, 1], values: [1, 2] };
    const one = (id: string) => ({
      execution_id: id, workflow: "wf:train", status: "SUCCEEDED", created_at: 1, started_at: 1, ended_at: 2,
      inputs: {}, input_values: {}, params: {}, metrics: { fit: { loss: columns, acc: columns } },
    });
    routes = { "GET /api/v1/compare": () => ({ body: [one("a"), one("b")] }) };
    wrap(<ComparePage ids={["a", "b"]} />);
    const acc = (await screen.findByLabelText("fit.acc")) as HTMLInputElement;
    expect(acc.checked).toBe(true);
    await screen.findByText(/^fit\.acc: a,b/);
    fireEvent.click(acc);
    expect(acc.checked).toBe(false);
    expect(screen.queryByText(/^fit\.acc: a,b/)).toBeNull();
    expect(screen.getByText(/^fit\.loss: a,b/)).toBeTruthy();
    fireEvent.click(acc);
    await screen.findByText(/^fit\.acc: a,b/);
  });

  it("asks for two executions", () => {
    wrap(<ComparePage ids={["a"]} />);
    expect(screen.getByRole("alert").textContent).toContain("Pick two executions");
  });
});

describe("LineagePage", () => {
  // React Flow measures its pane; jsdom has no ResizeObserver (the graph itself is
  // checked in the browser, e2e/run.mjs).
  beforeEach(() => {
    vi.stubGlobal("ResizeObserver", class { observe() {} unobserve() {} disconnect() {} });
  });

  it("asks for both directions and lists the executions the lineage crosses", async () => {
    const run = (execution_id: string, node_id: string) =>
      ({ execution_id, node_id, task: `wf:${node_id}`, status: "SUCCEEDED" });
    const art = (hash: string, more: object = {}) => ({ hash, type: "int", type_name: "int", size: 2, ...more });
    routes = {
      "GET /api/v1/lineage/e1%3Atotal": (url) => ({
        body: url.searchParams.get("direction") === "upstream"
          ? { ref: "e1:total", direction: "upstream",
              artifacts: [art("h10", { produced_by: [{ ...run("e1", "total"), inputs: { xs: art("hxs", { produced_by: [] }) } }] })] }
          : { ref: "e1:total", direction: "downstream",
              artifacts: [art("h10", { used_by: [{ ...run("e2", "report"), outputs: {} }] })] },
      }),
    };
    wrap(<LineagePage reference="e1:total" />);
    await screen.findByRole("heading", { name: "Lineage of e1:total" });
    expect(screen.getByText(/2 values, 2 node runs in 2 executions/)).toBeTruthy();
    expect(screen.getByRole("link", { name: "e1" }).getAttribute("href")).toBe("/executions/e1");
    expect(screen.getByRole("link", { name: "e2" })).toBeTruthy();
    expect(calls.filter((c) => c.includes("/lineage/")).sort()).toEqual([
      "GET /api/v1/lineage/e1%3Atotal?direction=downstream", "GET /api/v1/lineage/e1%3Atotal?direction=upstream"]);
  });

  it("shows the server's refusal", async () => {
    routes = { "GET /api/v1/lineage/nope": () => ({ status: 404, body: { error: "'nope' is neither an execution id" } }) };
    wrap(<LineagePage reference="nope" />);
    expect((await screen.findByRole("alert")).textContent).toContain("is neither an execution id");
  });
});

describe("ExecutionsList paging", () => {
  it("pages on with the last row's created_at", async () => {
    const all = Array.from({ length: 130 }, (_, i) => ({ ...summary(`e${i}`, "SUCCEEDED"), created_at: 1000 - i }));
    routes = {
      "GET /api/v1/executions": (url) => {
        const before = url.searchParams.get("before");
        const limit = Number(url.searchParams.get("limit"));
        const rows = all.filter((e) => before === null || e.created_at < Number(before));
        return { body: rows.slice(0, limit) };
      },
    };
    wrap(<ExecutionsList />);
    expect(await screen.findByText("e99")).toBeTruthy();
    expect(screen.queryByText("e100")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Older" }));
    expect(await screen.findByText("e129")).toBeTruthy();
    expect(calls).toContain("GET /api/v1/executions?limit=100&before=901");
    // 130 rows: the second page is short, so there is no third.
    await waitFor(() => expect(screen.queryByRole("button", { name: "Older" })).toBeNull());
    expect(document.querySelectorAll("tr[data-execution]")).toHaveLength(130);
  });
});

describe("Timeline and tracking", () => {
  const base: NodeShape = {
    node_id: "a", task: "wf:a", kind: "task", status: "SUCCEEDED", attempts: 0, started_at: 10,
    ended_at: 12, duration: 2, cache_key: null, source_execution: null, source_node: null,
    inputs: {}, outputs: {}, error: null, params: {}, metrics: [],
  };

  it("draws one bar per node that started, placed on the execution's time axis", () => {
    const nodes = [base, { ...base, node_id: "b", started_at: 12, ended_at: 20 },
                   { ...base, node_id: "c", status: "QUEUED", started_at: null, ended_at: null }];
    render(<Timeline nodes={nodes} start={10} end={20} />);
    const bars = [...document.querySelectorAll<HTMLElement>("[data-bar]")];
    expect(bars.map((b) => b.dataset.bar)).toEqual(["a", "b"]);
    const bar = (id: string) => {
      const style = document.querySelector<HTMLElement>(`[data-bar="${id}"] .bar`)!.style;
      return [parseFloat(style.left), parseFloat(style.width)];
    };
    expect(bar("a")).toEqual([0, 20]);
    expect(bar("b")).toEqual([20, 80]);
  });

  it("draws only the lanes in view of a timeline of 1,000 nodes, and the others on scroll", () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => ({ ...base, node_id: `n${i}`, started_at: 10 + i, ended_at: 11 + i }));
    render(<Timeline nodes={nodes} start={10} end={1011} />);
    const drawn = () => [...document.querySelectorAll<HTMLElement>("[data-bar]")].map((b) => b.dataset.bar);
    expect(drawn().length).toBeGreaterThan(10);
    expect(drawn().length).toBeLessThan(100);
    expect(drawn()[0]).toBe("n0");
    const lanes = screen.getByRole("region", { name: "timeline lanes" });
    lanes.scrollTop = 500 * 22; // LANE_HEIGHT
    fireEvent.scroll(lanes);
    expect(drawn()).toContain("n500");
    expect(drawn()).not.toContain("n0");
  });

  it("shows the node's params and each metric's value at its last step", () => {
    routes = {};
    const node = { ...base, params: { lr: 0.1 },
                   metrics: [{ key: "loss", value: 0.9, step: 0 }, { key: "loss", value: 0.2, step: 2 },
                             { key: "loss", value: 0.5, step: 1 }] };
    wrap(<NodePanel executionId="e1" node={node} />);
    expect(document.querySelector('[data-param="lr"]')!.textContent).toBe("lr0.1");
    expect(document.querySelector('[data-metric="loss"]')!.textContent).toBe("loss0.2 (step 2)");
  });
});

describe("Re-run from a node", () => {
  it("offers the button only when the page passes a re-run, and calls it", () => {
    routes = {};
    const node: NodeShape = {
      node_id: "train", task: "wf:train", kind: "task", status: "FAILED", attempts: 0, started_at: null,
      ended_at: null, duration: null, cache_key: null, source_execution: null, source_node: null,
      inputs: {}, outputs: {}, error: "boom", params: {}, metrics: [],
    };
    const rerun = vi.fn();
    const { unmount } = wrap(<NodePanel executionId="e1" node={node} />);
    expect(screen.queryByRole("button", { name: "Re-run from this node" })).toBeNull();
    unmount();
    wrap(<NodePanel executionId="e1" node={node} onRerun={rerun} />);
    fireEvent.click(screen.getByRole("button", { name: "Re-run from this node" }));
    expect(rerun).toHaveBeenCalledTimes(1);
  });
});

describe("Map elements", () => {
  it("lists a map node's elements with their values, and a failed one's error, traceback and logs", async () => {
    routes = {
      "GET /api/v1/executions/e1/nodes/map-square/elements": () => ({
        body: [
          { map_index: 0, status: "SUCCEEDED", attempt: null, value: 1, error: null, traceback: null, logs: "" },
          { map_index: 1, status: "FAILED", attempt: 1, value: null, error: "ValueError: negative", traceback: "Traceback ...\nValueError: negative", logs: "refusing -2\n" },
        ],
      }),
      "GET /api/v1/executions/e1/nodes/map-square/logs": () => ({ body: { execution_id: "e1", node_id: "map-square", attempt: 1, status: "SUCCEEDED", logs: "", traceback: null } }),
    };
    const node: NodeShape = {
      node_id: "map-square", task: "wf:square", kind: "map", status: "SUCCEEDED", attempts: 1, started_at: 1,
      ended_at: 2, duration: 1, cache_key: null, source_execution: null, source_node: null, inputs: {}, outputs: {},
      error: null, params: {}, metrics: [],
    };
    wrap(<NodePanel executionId="e1" node={node} />);
    expect(await screen.findByText("(2)")).toBeTruthy();
    expect(document.querySelector('[data-element="0"] code')!.textContent).toBe("1");
    const failed = document.querySelector('[data-element="1"]')!;
    expect(failed.querySelector("[data-status]")!.getAttribute("data-status")).toBe("FAILED");
    expect(failed.querySelector("summary")!.textContent).toBe("ValueError: negative");
    expect(screen.getByLabelText("logs of element 1").textContent).toBe("refusing -2\n");
    // A task node has no elements section.
    cleanup();
    wrap(<NodePanel executionId="e1" node={{ ...node, kind: "task" }} />);
    expect(screen.queryByText(/^Elements/)).toBeNull();
  });
});
