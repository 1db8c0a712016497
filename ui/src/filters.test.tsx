import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ExecutionsList } from "./ExecutionsList";
import { apiFilters, epoch, filtersSearch, NO_FILTERS, parseFilters } from "./listFilters";

const calls: URL[] = [];
let rows: unknown[] = [];

const OPEN_SERVER = { user: "anonymous", auth: false, admin: true, roles: {} };

beforeEach(() => {
  window.history.replaceState(null, "", "/");
  calls.length = 0;
  vi.stubGlobal("fetch", async (input: string) => {
    const url = new URL(input, "http://ui.test");
    if (url.pathname === "/api/v1/whoami") return new Response(JSON.stringify(OPEN_SERVER), { status: 200 });
    calls.push(url);
    return new Response(JSON.stringify(rows), { status: 200, headers: { "content-type": "application/json" } });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const row = (i: number) => ({
  execution_id: `e${i}`, workflow: "wf:diamond", status: "SUCCEEDED", created_at: 1_700_000_000 - i,
  started_at: 1_700_000_000 - i, ended_at: 1_700_000_001 - i, parent_id: null, error: null,
});

function list() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <ExecutionsList />
    </QueryClientProvider>,
  );
}

describe("the list's filters", () => {
  it("round-trip through the URL and resolve times for the API", () => {
    const f = { ...NO_FILTERS, project: "ml", status: "FAILED", since: "24h" };
    expect(filtersSearch(f)).toBe("?project=ml&status=FAILED&since=24h");
    expect(parseFilters(filtersSearch(f))).toEqual(f);
    expect(filtersSearch(NO_FILTERS)).toBe("");
    expect(epoch("24h", 1000_000)).toBe(1000_000 - 86_400);
    expect(epoch("2026-12-01T10:00", 0)).toBe(new Date("2026-12-01T10:00").getTime() / 1000);
    expect(epoch("soon", 0)).toBeNull();
    expect(apiFilters({ ...f, workflow: " wf:a " }, 100_000).query).toEqual({
      project: "ml", status: "FAILED", workflow: "wf:a", since: 100_000 - 86_400,
    });
    const backwards = apiFilters({ ...NO_FILTERS, since: "2026-12-02T00:00", until: "2026-12-01T00:00" }, 0);
    expect(backwards.error).toBe("the time range is empty: From is not before To");
  });

  it("come from the URL, are sent to the server, and each change goes into the URL", async () => {
    rows = [row(1)];
    window.history.replaceState(null, "", "/?project=ml&domain=production&status=FAILED");
    list();
    await screen.findByText("e1");
    const first = calls.at(-1)!.searchParams;
    expect([first.get("project"), first.get("domain"), first.get("status")]).toEqual(["ml", "production", "FAILED"]);
    expect((screen.getByLabelText("Project") as HTMLInputElement).value).toBe("ml");

    fireEvent.change(screen.getByLabelText("Created"), { target: { value: "7d" } });
    expect(window.location.search).toBe("?project=ml&domain=production&status=FAILED&since=7d");
    await waitFor(() => expect(calls.at(-1)!.searchParams.get("since")).not.toBeNull());
    const since = Number(calls.at(-1)!.searchParams.get("since"));
    expect(Math.abs(since - (Date.now() / 1000 - 7 * 86_400))).toBeLessThan(60);

    // The workflow goes to the URL and the server after a pause in typing.
    fireEvent.change(screen.getByLabelText("Workflow"), { target: { value: "wf:diamond" } });
    await waitFor(() => expect(new URLSearchParams(window.location.search).get("workflow")).toBe("wf:diamond"));
    await waitFor(() => expect(calls.at(-1)!.searchParams.get("workflow")).toBe("wf:diamond"));

    // A range given backwards is refused before any request.
    const before = calls.length;
    fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-12-02T00:00" } });
    fireEvent.change(screen.getByLabelText("To"), { target: { value: "2026-12-01T00:00" } });
    expect((await screen.findByRole("alert")).textContent).toBe("the time range is empty: From is not before To");
    expect(calls.slice(before).some((u) => u.searchParams.get("until") !== null)).toBe(false);
  });

  it("draws only the rows in view of a long list", async () => {
    rows = Array.from({ length: 100 }, (_, i) => row(i));
    let page = 0;
    vi.stubGlobal("fetch", async (input: string) => {
      const url = new URL(input, "http://ui.test");
      if (url.pathname === "/api/v1/whoami") return new Response(JSON.stringify(OPEN_SERVER), { status: 200 });
      calls.push(url);
      const start = (page++) * 100;
      return new Response(JSON.stringify(Array.from({ length: 100 }, (_, i) => row(start + i))), { status: 200 });
    });
    list();
    await screen.findByText("e0");
    for (let k = 1; k <= 2; k++) {
      fireEvent.click(await screen.findByRole("button", { name: "Older" }));
      await waitFor(() => expect(calls.length).toBe(k + 1));
      await waitFor(() => expect((screen.getByRole("button", { name: "Older" }) as HTMLButtonElement).disabled).toBe(false));
    }
    // 300 rows loaded; past 200 only those in view (and a few more) are in the DOM.
    await waitFor(() => expect(document.querySelectorAll("tr[data-execution]").length).toBeLessThan(100));
    expect(screen.getByText("e0")).toBeTruthy();
    expect(screen.queryByText("e250")).toBeNull();
    const scroller = screen.getByRole("region", { name: "executions table" });
    scroller.scrollTop = 240 * 40; // ROW_HEIGHT
    fireEvent.scroll(scroller);
    expect(await screen.findByText("e250")).toBeTruthy();
    expect(screen.queryByText("e0")).toBeNull();
  });
});
