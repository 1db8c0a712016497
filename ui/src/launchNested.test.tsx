import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { type Call, launches, renderLaunch, stubLaunchApi, workflowVersion } from "./testkit";

// The launch form of a workflow whose input is an optional dataclass (null or a value:
// a checked JSON editor, not a fieldset): its fields listed under the editor, a
// skeleton to start from, a bad part refused by name.
let calls: Call[] = [];
const net = {
  kind: "dataclass", name: "wf.Net", fields: {
    layers: { kind: "list", item: { kind: "dataclass", name: "wf.Layer", fields: { width: { kind: "int" } } } },
    name: { kind: "str" },
  },
};

beforeEach(() => {
  window.history.replaceState(null, "", "/launch?name=wf.build");
  calls = stubLaunchApi([workflowVersion("wf.build", { net: { kind: "optional", inner: net } })], { executionId: "e-net" });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("a nested launch input", () => {
  it("lists its fields, fills a skeleton, refuses a bad part and sends a good value", async () => {
    renderLaunch("wf.build");
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
    expect(launches(calls)).toEqual([]);

    fireEvent.change(editor, { target: { value: '{"name": "mlp", "layers": [{"width": 8}]}' } });
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    await waitFor(() => expect(launches(calls)).toHaveLength(1));
    expect(launches(calls)[0]).toMatchObject({ name: "wf.build", inputs: { net: { name: "mlp", layers: [{ width: 8 }] } } });
  });
});
