import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen, waitFor } from "@testing-library/react";
import type { ReactElement } from "react";
import { NodePanel } from "./NodePanel";
import type { NodeShape } from "./api";
import { applyLogEvent, EMPTY_LOG } from "./liveLog";
import { renderWithClient } from "./testkit";

// A running node's logs come from the server's log stream (server-sent events over
// fetch), resumed from the last byte offset after a dropped connection; an ended
// node's from its recorded logs, with no stream opened.
const calls: string[] = [];
let streams: string[][]; // the events each successive stream request sends, then closes

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

beforeEach(() => {
  calls.length = 0;
  vi.stubGlobal("fetch", async (input: string) => {
    const url = new URL(input, "http://ui.test");
    calls.push(`${url.pathname}${url.search}`);
    if (url.pathname.endsWith("/logs/stream")) {
      const chunks = streams.shift() ?? [];
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    if (url.pathname.endsWith("/logs")) {
      const running = url.pathname.includes("/e-run/");
      return Response.json({
        execution_id: "e", node_id: "sleeper", attempt: 1, status: running ? "RUNNING" : "SUCCEEDED",
        logs: running ? "" : "recorded line\n", traceback: null,
      });
    }
    if (url.pathname === "/api/v1/whoami") return Response.json({ user: "anonymous", auth: false, admin: true, roles: {} });
    return Response.json({ error: `no route ${url.pathname}` }, { status: 404 });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const wrap = (ui: ReactElement) => renderWithClient(ui);

const node = (status: string): NodeShape => ({
  node_id: "sleeper", task: "wf:sleeper", kind: "task", status, attempts: 1,
  started_at: 1, ended_at: status === "RUNNING" ? null : 2, duration: null, cache_key: null,
  source_execution: null, source_node: null, inputs: {}, outputs: {}, error: null, params: {}, metrics: [],
});

describe("applyLogEvent", () => {
  it("appends new text, skips what an offset says was shown, and notes the end", () => {
    let log = applyLogEvent(EMPTY_LOG, { event: "log", data: JSON.stringify({ text: "a\n", offset: 10 }) });
    expect(log).toEqual({ text: "a\n", offset: 10, ended: false });
    log = applyLogEvent(log, { event: "log", data: JSON.stringify({ text: "a\n", offset: 10 }) });
    expect(log.text).toBe("a\n");
    log = applyLogEvent(log, { event: "ping", data: "{}" });
    log = applyLogEvent(log, { event: "end", data: JSON.stringify({ status: "SUCCEEDED", offset: 12 }) });
    expect(log).toEqual({ text: "a\n", offset: 12, ended: true });
  });
});

describe("a running node's logs", () => {
  it("are streamed, resumed from the last offset after a drop, and end with the attempt", async () => {
    streams = [
      [sse("log", { text: "tick 1\n", offset: 20 })], // then the connection drops
      [sse("log", { text: "tick 2\n", offset: 40 }), sse("end", { status: "SUCCEEDED", offset: 40 })],
    ];
    wrap(<NodePanel executionId="e-run" node={node("RUNNING")} />);
    const logs = await screen.findByLabelText("logs of attempt 1");
    await waitFor(() => expect(logs.textContent).toBe("tick 1\n"));
    await waitFor(() => expect(logs.textContent).toBe("tick 1\ntick 2\n"), { timeout: 5000 });
    const opened = calls.filter((c) => c.includes("/logs/stream"));
    expect(opened).toEqual([
      "/api/v1/executions/e-run/nodes/sleeper/logs/stream?attempt=1&offset=0",
      "/api/v1/executions/e-run/nodes/sleeper/logs/stream?attempt=1&offset=20",
    ]);
    // Ended: never opened again.
    await new Promise((r) => setTimeout(r, 1500));
    expect(calls.filter((c) => c.includes("/logs/stream"))).toHaveLength(2);
    // No polling of the recorded logs meanwhile: one read of them.
    expect(calls.filter((c) => c.endsWith("/logs?attempt=1"))).toHaveLength(1);
  });

  it("of an ended node are the recorded ones, with no stream", async () => {
    streams = [];
    wrap(<NodePanel executionId="e-done" node={node("SUCCEEDED")} />);
    expect(await screen.findByText("recorded line")).toBeTruthy();
    expect(calls.some((c) => c.includes("/logs/stream"))).toBe(false);
  });
});
