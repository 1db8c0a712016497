import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { type Call, launches, renderLaunch, stubLaunchApi, workflowVersion } from "./testkit";
import { collect, fieldsOf, prefilled } from "./form";
import type { Descriptor } from "./api";

// A dataclass of scalars as nested fields: one widget per field (its fieldset), checked
// per field, sent as one object (deeper ones: listFields.test.tsx).
const params: Descriptor = {
  kind: "dataclass", name: "wf.Params",
  fields: { lr: { kind: "float" }, depth: { kind: "int" }, on: { kind: "bool" }, act: { kind: "enum", name: "wf.Act", values: ["relu", "tanh"] }, note: { kind: "optional", inner: { kind: "str" } } },
};
const deep: Descriptor = { kind: "dataclass", name: "wf.Net", fields: { layers: { kind: "list", item: { kind: "int" } } } };
let calls: Call[] = [];

beforeEach(() => {
  window.history.replaceState(null, "", "/launch");
  calls = stubLaunchApi([workflowVersion("wf.fit", { p: params }, { p: { lr: 0.1, depth: 3, on: true, act: "relu", note: null } })],
                        { executionId: "e-fit" });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("a dataclass input as nested fields", () => {
  it("has one field per field, checked each, collected as one object", () => {
    const [p] = fieldsOf({ p: params, net: deep }, {}).filter((f) => f.name === "p");
    expect(p?.widget).toBe("fields");
    expect(p?.subfields?.map((f) => `${f.name}:${f.widget}`)).toEqual(["p.lr:float", "p.depth:int", "p.on:bool", "p.act:enum", "p.note:str"]);
    // a list of scalars inside is a list of rows (listFields.test.tsx)
    expect(fieldsOf({ net: deep }, {})[0]?.subfields?.map((f) => f.widget)).toEqual(["list"]);
    const fields = fieldsOf({ p: params }, {});
    expect(collect(fields, { "p.lr": "fast", "p.depth": "" })).toEqual({
      ok: false, errors: { "p.lr": "p.lr expects a number, got 'fast'", "p.depth": "p.depth is required", "p.act": "p.act is required" } });
    expect(collect(fields, { "p.lr": "0.5", "p.depth": "4", "p.on": "true", "p.act": '"tanh"', "p.note": "" })).toEqual({
      ok: true, inputs: { p: { lr: 0.5, depth: 4, on: true, act: "tanh", note: null } } });
    // a relaunch fills each field from the earlier value
    expect(prefilled(fields, { p: { lr: 0.2, depth: 5, on: false, act: "relu", note: "x" } })).toEqual({
      "p.lr": "0.2", "p.depth": "5", "p.on": "false", "p.act": '"relu"', "p.note": "x" });
  });

  it("is a fieldset in the launch form, its defaults filled in; a bad field is named before sending", async () => {
    renderLaunch("wf.fit");
    const group = await screen.findByRole("group", { name: "p" });
    expect((within(group).getByLabelText(/^lr/) as HTMLInputElement).value).toBe("0.1");
    expect((within(group).getByLabelText(/^on/) as HTMLInputElement).checked).toBe(true);
    fireEvent.change(within(group).getByLabelText(/^depth/), { target: { value: "deep" } });
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    expect((await screen.findByRole("alert")).textContent).toBe("p.depth expects an integer, got 'deep'");
    expect(launches(calls)).toEqual([]);
    fireEvent.change(within(group).getByLabelText(/^depth/), { target: { value: "6" } });
    fireEvent.change(within(group).getByLabelText(/^act/), { target: { value: '"tanh"' } });
    fireEvent.click(screen.getByRole("button", { name: "Launch" }));
    await waitFor(() => expect(launches(calls)).toHaveLength(1));
    expect(launches(calls)[0]).toMatchObject({ inputs: { p: { lr: 0.1, depth: 6, on: true, act: "tanh" } } });
  });
});
