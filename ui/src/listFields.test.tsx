import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { type Call, launches, renderLaunch, stubLaunchApi, workflowVersion } from "./testkit";
import { collect, fieldsOf, prefilled } from "./form";
import type { Descriptor } from "./api";

// Beyond scalars: a list of scalars is one row per item (each its own widget, checked
// as name[i]), a dataclass inside a dataclass is a fieldset inside the fieldset, and
// what has no widget of its own (a dict) is that field's checked JSON editor.
const opt: Descriptor = {
  kind: "dataclass", name: "wf.Opt",
  fields: { lr: { kind: "float" }, tags: { kind: "list", item: { kind: "str" } } },
};
const net: Descriptor = {
  kind: "dataclass", name: "wf.Net",
  fields: {
    acts: { kind: "list", item: { kind: "enum", name: "wf.Act", values: ["relu", "tanh"] } },
    extra: { kind: "dict", key: { kind: "str" }, value: { kind: "int" } },
    layers: { kind: "list", item: { kind: "int" } },
    opt,
  },
};
let calls: Call[] = [];

beforeEach(() => {
  window.history.replaceState(null, "", "/launch");
  calls = stubLaunchApi([workflowVersion("wf.build", { net, seeds: { kind: "list", item: { kind: "int" } } },
                                         { net: { acts: ["relu"], extra: {}, layers: [8], opt: { lr: 0.1, tags: [] } } })],
                        { executionId: "e-net" });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("nested fields beyond scalars", () => {
  it("draws lists of scalars as rows and a dataclass inside as a fieldset, down to a depth", () => {
    const [field] = fieldsOf({ net }, {});
    expect(field?.widget).toBe("fields");
    expect(field?.subfields?.map((f) => `${f.name}:${f.widget}`)).toEqual(["net.acts:list", "net.extra:json", "net.layers:list", "net.opt:fields"]);
    const inner = field?.subfields?.[3];
    expect(inner?.subfields?.map((f) => `${f.name}:${f.widget}:${f.item?.widget ?? ""}`)).toEqual(["net.opt.lr:float:", "net.opt.tags:list:str"]);
    // four dataclasses deep: the fourth is its parent's JSON editor
    const wrap = (d: Descriptor): Descriptor => ({ kind: "dataclass", name: "wf.W", fields: { w: d } });
    const [deep] = fieldsOf({ d: wrap(wrap(wrap({ kind: "dataclass", name: "wf.X", fields: { x: { kind: "int" } } }))) }, {});
    expect(deep?.subfields?.[0]?.subfields?.[0]?.subfields?.[0]?.widget).toBe("json");
    // a list of lists, or of dataclasses, stays JSON; so does an optional list
    expect(fieldsOf({ m: { kind: "list", item: { kind: "list", item: { kind: "int" } } } }, {})[0]?.widget).toBe("json");
    expect(fieldsOf({ o: { kind: "optional", inner: { kind: "list", item: { kind: "int" } } } }, {})[0]?.widget).toBe("json");
    expect(fieldsOf({ s: { kind: "set", item: { kind: "str" } } }, {})[0]?.widget).toBe("list");
  });

  it("collects one nested object, names a bad item, and fills a relaunch from the value", () => {
    const fields = fieldsOf({ net }, {});
    const texts = {
      "net.acts": '["\\"tanh\\""]', "net.extra": '{"a": 1}', "net.layers": '["4", "x"]',
      "net.opt.lr": "0.5", "net.opt.tags": '["a", ""]',
    };
    expect(collect(fields, texts)).toEqual({ ok: false, errors: { "net.layers": "net.layers[1] expects an integer, got 'x'" } });
    expect(collect(fields, { ...texts, "net.layers": '["4", "2"]' })).toEqual({
      ok: true, inputs: { net: { acts: ["tanh"], extra: { a: 1 }, layers: [4, 2], opt: { lr: 0.5, tags: ["a", ""] } } },
    });
    expect(collect(fields, { ...texts, "net.layers": "[]", "net.opt.lr": "" })).toEqual({
      ok: false, errors: { "net.opt.lr": "net.opt.lr is required" } });
    expect(prefilled(fields, { net: { acts: ["relu"], extra: { b: 2 }, layers: [1, 2], opt: { lr: 0.2, tags: ["x"] } } })).toEqual({
      "net.acts": '["\\"relu\\""]', "net.extra": '{\n "b": 2\n}', "net.layers": '["1","2"]',
      "net.opt.lr": "0.2", "net.opt.tags": '["x"]',
    });
  });

  it("adds, edits and removes rows in the launch form, and sends the nested value", async () => {
    renderLaunch("wf.build");
    const outer = await screen.findByRole("group", { name: "net" });
    const inner = within(outer).getByRole("group", { name: "net.opt" });
    expect((within(inner).getByLabelText(/^lr/) as HTMLInputElement).value).toBe("0.1");
    const layers = within(outer).getByRole("group", { name: /^layers/ });
    expect((within(layers).getByLabelText("net.layers item 0") as HTMLInputElement).value).toBe("8");
    // the top-level list without a default starts with no rows
    const seeds = screen.getByRole("group", { name: /^seeds/ });
    expect(seeds.getAttribute("data-items")).toBe("0");
    fireEvent.click(within(seeds).getByRole("button", { name: "Add an item to seeds" }));
    fireEvent.click(within(seeds).getByRole("button", { name: "Add an item to seeds" }));
    fireEvent.change(within(seeds).getByLabelText("seeds item 0"), { target: { value: "1" } });
    fireEvent.change(within(seeds).getByLabelText("seeds item 1"), { target: { value: "two" } });
    fireEvent.click(within(layers).getByRole("button", { name: "Add an item to net.layers" }));
    fireEvent.change(within(layers).getByLabelText("net.layers item 1"), { target: { value: "4" } });
    fireEvent.click(within(inner).getByRole("button", { name: "Add an item to net.opt.tags" }));
    fireEvent.change(within(inner).getByLabelText("net.opt.tags item 0"), { target: { value: "small" } });
    // an enum list's new row starts at the first choice
    fireEvent.click(within(outer).getByRole("button", { name: "Add an item to net.acts" }));
    fireEvent.change(within(outer).getByLabelText("net.acts item 1"), { target: { value: '"tanh"' } });

    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    expect((await screen.findByRole("alert")).textContent).toBe("seeds[1] expects an integer, got 'two'");
    expect(launches(calls)).toEqual([]);
    fireEvent.click(within(seeds).getByRole("button", { name: "Remove item 1 of seeds" }));
    expect(seeds.getAttribute("data-items")).toBe("1");
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    await waitFor(() => expect(launches(calls)).toHaveLength(1));
    expect(launches(calls)[0]).toMatchObject({
      inputs: { seeds: [1], net: { acts: ["relu", "tanh"], extra: {}, layers: [8, 4], opt: { lr: 0.1, tags: ["small"] } } },
    });
  });
});
