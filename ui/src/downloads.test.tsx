import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { NodePanel } from "./NodePanel";
import { signIn, signOut } from "./auth";
import type { NodeShape } from "./api";

// A node whose outputs are a DataFrame (previewed: schema and first rows) and a pickled
// value (downloadable, never previewed); downloads go through fetch with the token.
const asked: { path: string; auth: string | null }[] = [];
const saved: string[] = [];

const artifact = (hash: string, format: string) => ({
  hash, format, type: { kind: format === "parquet" ? "dataframe" : "pickle" }, size: 1234,
  uri: `${hash.slice(0, 2)}/${hash}`, inline: null, created_at: 0, purged: false,
});

beforeEach(() => {
  asked.length = 0;
  saved.length = 0;
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://ui.test");
    asked.push({ path: `${url.pathname}${url.search}`, auth: new Headers(init?.headers).get("authorization") });
    const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    switch (url.pathname) {
      case "/api/v1/artifacts/aaaa1111":
        return json(artifact("aaaa1111", "parquet"));
      case "/api/v1/artifacts/bbbb2222":
        return json(artifact("bbbb2222", "pickle"));
      case "/api/v1/artifacts/aaaa1111/preview":
        return json({
          hash: "aaaa1111", type: "DataFrame", size: 1234, num_rows: 80, num_columns: 2,
          columns: [{ name: "id", type: "int64", nullable: true }, { name: "name", type: "string", nullable: true }],
          rows: [{ id: 0, name: "row 0" }, { id: 1, name: null }], truncated: true,
        });
      case "/api/v1/artifacts/aaaa1111/download":
        return new Response("PAR1...", { status: 200, headers: { "content-disposition": 'attachment; filename="aaaa1111.parquet"' } });
      case "/api/v1/artifacts/bbbb2222/download":
        return json({ error: "artifact bbbb2222 is corrupt: the bytes do not hash to its digest" }, 404);
      case "/api/v1/executions/e1/nodes/table/logs":
        return json({ execution_id: "e1", node_id: "table", attempt: 1, status: "SUCCEEDED", logs: "a table of 80 rows\n", traceback: null });
      default:
        return json({ error: `no route ${url.pathname}` }, 404);
    }
  });
  vi.stubGlobal("URL", Object.assign(globalThis.URL, {
    createObjectURL: () => "blob:saved",
    revokeObjectURL: () => undefined,
  }));
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    if (this.href.startsWith("blob:")) saved.push(this.download);
  });
});

afterEach(() => {
  cleanup();
  signOut();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

function wrap(ui: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>);
}

const node: NodeShape = {
  node_id: "table", task: "wf:table", kind: "task", status: "SUCCEEDED", attempts: 1,
  started_at: 1, ended_at: 2, duration: 1, cache_key: null, source_execution: null,
  source_node: null, inputs: {}, outputs: { df: "aaaa1111", obj: "bbbb2222" }, error: null, params: {},
  metrics: [],
};

describe("a node's stored values", () => {
  it("shows a DataFrame's schema and first rows; a pickle gets no preview", async () => {
    wrap(<NodePanel executionId="e1" node={node} />);
    const region = await screen.findByRole("region", { name: "preview of df" });
    expect(region.querySelector("caption")?.textContent).toBe("80 rows × 2 columns, the first 2 shown");
    expect([...region.querySelectorAll("th")].map((th) => th.textContent)).toEqual(["id int64", "name string"]);
    expect([...region.querySelectorAll("tbody tr")].map((tr) => tr.textContent)).toEqual(["0row 0", "1null"]);
    expect(asked.map((a) => a.path)).toContain("/api/v1/artifacts/aaaa1111/preview?rows=20");
    expect(screen.queryByRole("region", { name: "preview of obj" })).toBeNull();
    expect(asked.map((a) => a.path)).not.toContain("/api/v1/artifacts/bbbb2222/preview?rows=20");
  });

  it("downloads with the token under the server's file name, and says why one is refused", async () => {
    signIn("tok");
    wrap(<NodePanel executionId="e1" node={node} />);
    fireEvent.click(await screen.findByRole("link", { name: "Download df" }));
    await waitFor(() => expect(saved).toEqual(["aaaa1111.parquet"]));
    expect(asked.find((a) => a.path === "/api/v1/artifacts/aaaa1111/download")?.auth).toBe("Bearer tok");

    fireEvent.click(screen.getByRole("link", { name: "Download obj" }));
    expect((await screen.findByRole("alert")).textContent).toContain("Could not download: artifact bbbb2222 is corrupt");
    expect(saved).toEqual(["aaaa1111.parquet"]);

    const logs = await screen.findByRole("link", { name: "Download the logs of attempt 1" });
    expect(logs.getAttribute("href")).toBe("/api/v1/executions/e1/nodes/table/logs/download?attempt=1");
  });
});
