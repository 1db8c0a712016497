import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { App } from "./App";
import { parseEvents } from "./sse";

// A server run with --auth, in a table: "admin" may do anything; "viewer" may not list
// every project; anything else is a 401.
const seen: (string | null)[] = [];

beforeEach(() => {
  window.history.replaceState(null, "", "/");
  seen.length = 0;
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://ui.test");
    const header = new Headers(init?.headers).get("authorization");
    seen.push(header);
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    if (url.pathname === "/api/v1/whoami" && (header === "Bearer admin" || header === "Bearer viewer"))
      return json(200, header === "Bearer admin"
        ? { user: "ada", auth: true, admin: true, roles: {} }
        : { user: "vic", auth: true, admin: false, roles: { default: "viewer" } });
    if (header === "Bearer admin")
      return json(200, [{ execution_id: "e-1", workflow: "wf:a", status: "SUCCEEDED", created_at: 1, started_at: 1, ended_at: 2, parent_id: null, error: null }]);
    if (header === "Bearer viewer" && url.searchParams.get("project") === null)
      return json(403, { error: "viewer may list one project at a time: give project (only an admin token lists them all)" });
    if (header === "Bearer viewer") return json(200, []);
    return json(401, { error: header ? "the token is not valid (unknown or revoked)" : "this server needs a token: Authorization: Bearer TOKEN" });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function app() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <App />
    </QueryClientProvider>,
  );
}

const signInWith = (token: string) => {
  fireEvent.change(screen.getByLabelText("Token"), { target: { value: token } });
  fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
};

describe("auth in the UI", () => {
  it("asks for a token on a 401, sends it as a bearer, keeps it for the tab, and signs out", async () => {
    app();
    expect((await screen.findByRole("alert")).textContent).toBe("this server needs a token: Authorization: Bearer TOKEN");
    expect(screen.queryByRole("button", { name: "Sign out" })).toBeNull();

    signInWith("wrong");
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("the token is not valid (unknown or revoked)"));

    signInWith("admin");
    expect(await screen.findByText("e-1")).toBeTruthy();
    expect(seen.at(-1)).toBe("Bearer admin");
    expect(sessionStorage.getItem("rillet.token")).toBe("admin");
    // The server says this token is an admin: the Launch page is offered.
    expect(await screen.findByRole("link", { name: "Launch" })).toBeTruthy();

    fireEvent.click(screen.getByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeTruthy();
    expect(screen.queryByText("e-1")).toBeNull();
    expect(sessionStorage.getItem("rillet.token")).toBeNull();
  });

  it("shows a 403 as a refusal, in the page's own line", async () => {
    app();
    await screen.findByRole("heading", { name: "Sign in" });
    signInWith("viewer");
    expect((await screen.findByRole("alert")).textContent).toBe(
      "Could not list executions: not allowed (403): viewer may list one project at a time: give project (only an admin token lists them all)",
    );
    fireEvent.change(screen.getByLabelText("Project"), { target: { value: "default" } });
    expect(await screen.findByText("No executions match.")).toBeTruthy();
    // A viewer (GET /whoami: viewer of default) is not offered the Launch page.
    await waitFor(() => expect(seen.filter((h) => h === "Bearer viewer").length).toBeGreaterThan(2));
    expect(screen.getByRole("link", { name: "Versions" })).toBeTruthy();
    expect(screen.queryByRole("link", { name: "Launch" })).toBeNull();
  });
});

describe("the event stream reader", () => {
  it("splits events, joins data lines, skips comments and keeps the unfinished rest", () => {
    const { events, rest } = parseEvents(': ping\n\nevent: node\ndata: {"a":1}\n\nid: 3\nevent: execution\ndata: x\ndata: y\n\nevent: no');
    expect(events).toEqual([
      { event: "node", data: '{"a":1}' },
      { event: "execution", data: "x\ny" },
    ]);
    expect(rest).toBe("event: no");
  });
});
