import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { NodePanel } from "./NodePanel";
import type { NodeShape } from "./api";

// Previews beyond DataFrames: an ndarray's rows under its shape, a CSV file as a table, a
// text file's first lines, a list of records kept inline as a table; a pickle is named
// by its type only (never loaded, no preview asked for).
const asked: string[] = [];
const record = (hash: string, format: string, more: Record<string, unknown> = {}) => ({
  hash, format, type: { kind: format }, size: 99, uri: `${hash.slice(0, 2)}/${hash}`, inline: null,
  created_at: 0, purged: false, ...more,
});
const table = (kind: string, extra: Record<string, unknown>) => ({
  hash: "x", type: kind, size: 99, kind, shape: null, text: null, num_rows: 30, num_columns: 2,
  columns: [{ name: "0", type: "float64", nullable: false }, { name: "1", type: "float64", nullable: false }],
  rows: [{ "0": 0, "1": 0.5 }], truncated: true, ...extra,
});
const answers: Record<string, unknown> = {
  "/api/v1/artifacts/arr": record("arr", "npy"),
  "/api/v1/artifacts/arr/preview": table("ndarray", { shape: [30, 2] }),
  "/api/v1/artifacts/csv": record("csv", "file", { inline: '{"name":"sheet.csv"}' }),
  "/api/v1/artifacts/csv/preview": table("csv", {
    columns: [{ name: "id", type: "text", nullable: true }, { name: "name", type: "text", nullable: true }],
    rows: [{ id: "0", name: "row 0" }],
  }),
  "/api/v1/artifacts/txt": record("txt", "file", { inline: '{"name":"note.txt"}' }),
  "/api/v1/artifacts/txt/preview": table("text", { num_rows: 2, num_columns: 0, columns: [], rows: [], truncated: false, text: "first line\nsecond" }),
  "/api/v1/artifacts/recs": { ...record("recs", "json"), uri: null, inline: '[{"i":0,"sq":0},{"i":1,"sq":1}]' },
  "/api/v1/artifacts/pkl": { ...record("pkl", "pickle"), type: { kind: "pickle", name: "wf_ui.Opaque" } },
};

beforeEach(() => {
  asked.length = 0;
  vi.stubGlobal("fetch", async (input: string) => {
    const url = new URL(input, "http://ui.test");
    asked.push(url.pathname);
    const body = answers[url.pathname];
    return new Response(JSON.stringify(body ?? { error: "no route" }), {
      status: body ? 200 : 404, headers: { "content-type": "application/json" },
    });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const node: NodeShape = {
  node_id: "tally", task: "wf:tally", kind: "task", status: "SUCCEEDED", attempts: 0,
  started_at: 1, ended_at: 2, duration: 1, cache_key: null, source_execution: null, source_node: null,
  inputs: { g: "arr", s: "csv", t: "txt", r: "recs", o: "pkl" }, outputs: {}, error: null, params: {}, metrics: [],
};

describe("previews of stored values", () => {
  it("shows an array, a CSV, a text file and inline records; a pickle by its type only", async () => {
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <NodePanel executionId="e1" node={node} />
      </QueryClientProvider>,
    );
    const arr = await screen.findByRole("region", { name: "preview of g" });
    expect(arr.querySelector("caption")?.textContent).toBe("an array of shape 30 × 2, float64, the first 1 shown");
    const csv = await screen.findByRole("region", { name: "preview of s" });
    expect([...csv.querySelectorAll("th")].map((th) => th.textContent)).toEqual(["id text", "name text"]);
    expect(csv.querySelector("tbody tr")?.textContent).toBe("0row 0");
    const txt = await screen.findByRole("region", { name: "preview of t" });
    expect(txt.querySelector("pre")?.textContent).toBe("first line\nsecond");
    const recs = await screen.findByRole("region", { name: "records of r" });
    expect(recs.querySelector("caption")?.textContent).toBe("2 records");
    expect([...recs.querySelectorAll("tbody tr")].map((tr) => tr.textContent)).toEqual(["00", "11"]);
    expect((await screen.findByText(/wf_ui\.Opaque, never unpickled/)).textContent).toContain("pickle");
    expect(asked).not.toContain("/api/v1/artifacts/pkl/preview");
    expect(asked).not.toContain("/api/v1/artifacts/recs/preview"); // inline: shown as it is
  });
});
