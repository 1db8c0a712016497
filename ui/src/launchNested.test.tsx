import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { LaunchPage } from "./LaunchPage";

// The launch form of a workflow whose input is an optional dataclass (null or a value:
// a checked JSON editor, not a fieldset): its fields listed under the editor, a
// skeleton to start from, a bad part refused by name.
const posted: unknown[] = [];
const net = {
  kind: "dataclass", name: "wf.Net", fields: {
    layers: { kind: "list", item: { kind: "dataclass", name: "wf.Layer", fields: { width: { kind: "int" } } } },
    name: { kind: "str" },
  },
};

beforeEach(() => {
  posted.length = 0;
  window.history.replaceState(null, "", "/launch?name=wf.build");
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://ui.test");
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
    if (url.pathname === "/api/v1/whoami") return json({ user: "anonymous", auth: false, admin: true, roles: {} });
    if (url.pathname === "/api/v1/versions")
      return json([{ name: "wf.build", kind: "workflow", version: "v1", project: "default", domain: "development",
                     created_at: 1, interface: { inputs: { net: { kind: "optional", inner: net } }, defaults: {} } }]);
    if (url.pathname === "/api/v1/launch") {
      posted.push(JSON.parse(String(init?.body)));
      return json({ execution_id: "e-net" });
    }
    return new Response("{}", { status: 404 });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("a nested launch input", () => {
  it("lists its fields, fills a skeleton, refuses a bad part and sends a good value", async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <LaunchPage name="wf.build" />
      </QueryClientProvider>,
    );
    const fields = await screen.findByRole("list", { name: "fields of net" });
    expect(fields.textContent).toBe("layers: list[Layer]name: str");
    const editor = screen.getByLabelText(/^net/) as HTMLTextAreaElement;
    expect(JSON.parse(editor.placeholder)).toEqual({ layers: [], name: "" });
    fireEvent.click(screen.getByRole("button", { name: "Fill in the fields of net" }));
    expect(JSON.parse(editor.value)).toEqual({ layers: [], name: "" });
    expect(screen.queryByRole("button", { name: "Fill in the fields of net" })).toBeNull();

    fireEvent.change(editor, { target: { value: '{"name": "mlp", "layers": [{"width": 8}, {"width": "4"}]}' } });
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    expect((await screen.findByRole("alert")).textContent).toBe("net.layers[1].width expects int, got str");
    expect(posted).toEqual([]);

    fireEvent.change(editor, { target: { value: '{"name": "mlp", "layers": [{"width": 8}]}' } });
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).toMatchObject({ name: "wf.build", inputs: { net: { name: "mlp", layers: [{ width: 8 }] } } });
  });
});
