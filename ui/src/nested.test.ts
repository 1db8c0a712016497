import { describe, expect, it } from "vitest";
import type { Descriptor } from "./api";
import { collect, fieldsOf } from "./form";
import { fieldLines, misfit, skeleton, typeLabel } from "./nested";

// Descriptors as rillet.types._descriptor.describe writes them (copied from its output
// for a dataclass Net(name, layers: list[Layer], dropout: float | None) and a pydantic
// Train(opt: Opt(lr, steps=10, tags=[]), seed: int | None = None)).
const net: Descriptor = {
  kind: "dataclass", name: "__main__.Net", fields: {
    name: { kind: "str" },
    layers: { kind: "list", item: { kind: "dataclass", name: "__main__.Layer", fields: {
      width: { kind: "int" }, act: { kind: "literal", values: ["relu", "tanh"] } } } },
    dropout: { kind: "optional", inner: { kind: "float" } },
  },
};
const train: Descriptor = {
  kind: "pydantic", name: "__main__.Train", schema: {
    $defs: { Opt: { properties: { lr: { title: "Lr", type: "number" }, steps: { default: 10, title: "Steps", type: "integer" },
      tags: { default: [], items: { type: "string" }, title: "Tags", type: "array" } }, required: ["lr"], title: "Opt", type: "object" } },
    properties: { opt: { $ref: "#/$defs/Opt" }, seed: { anyOf: [{ type: "integer" }, { type: "null" }], default: null, title: "Seed" } },
    required: ["opt"], title: "Train", type: "object",
  },
};

describe("nested inputs checked against the interface", () => {
  it("follows a dataclass's fields into lists of dataclasses, naming the faulty part", () => {
    expect(misfit(net, { name: "a", layers: [{ width: 3 }, { width: 4, act: "tanh" }] }, "net")).toBeNull();
    expect(misfit(net, { name: "a", layers: [{ width: 3 }, { width: "4" }] }, "net")).toBe("net.layers[1].width expects int, got str");
    expect(misfit(net, { name: "a", layers: [{ width: 3, act: "gelu" }] }, "net")).toBe('net.layers[0].act must be one of "relu", "tanh"');
    expect(misfit(net, { name: "a", layers: [], depth: 2 }, "net")).toBe("net has no field 'depth' (Net has name, layers, dropout)");
    expect(misfit(net, { name: "a", layers: [], dropout: null }, "net")).toBeNull();
    expect(misfit(net, [1], "net")).toBe("net expects Net, got list");
    expect(misfit({ kind: "tuple", items: [{ kind: "int" }, { kind: "str" }] }, [1], "t")).toBe("t expects 2 items (tuple[int, str]), got 1");
    expect(misfit({ kind: "dict", key: { kind: "str" }, value: { kind: "float" } }, { a: 1.5, b: "x" }, "d")).toBe('d["b"] expects float, got str');
  });

  it("follows a pydantic model's JSON schema: $ref, required, anyOf, array items", () => {
    expect(misfit(train, { opt: { lr: 0.1 } }, "cfg")).toBeNull();
    expect(misfit(train, { opt: { lr: 0.1, tags: ["a"] }, seed: null }, "cfg")).toBeNull();
    expect(misfit(train, {}, "cfg")).toBe("cfg.opt is required");
    expect(misfit(train, { opt: {} }, "cfg")).toBe("cfg.opt.lr is required");
    expect(misfit(train, { opt: { lr: "fast" } }, "cfg")).toBe("cfg.opt.lr expects number, got str");
    expect(misfit(train, { opt: { lr: 1, tags: ["a", 2] } }, "cfg")).toBe("cfg.opt.tags[1] expects string, got int");
    expect(misfit(train, { opt: { lr: 1 }, seed: 1.5 }, "cfg")).toBe("cfg.seed fits none of its 2 allowed shapes");
  });

  it("shows the fields with their types, and a skeleton to start from", () => {
    expect(typeLabel(net.fields ? (net.fields as Record<string, Descriptor>).layers! : net)).toBe("list[Layer]");
    expect(fieldLines(net)).toEqual(["name: str", "layers: list[Layer]", "dropout: Optional[float]"]);
    expect(fieldLines(train)).toEqual(["opt: Opt", "seed: integer | null (optional)"]);
    expect(skeleton(net)).toEqual({ name: "", layers: [], dropout: null });
    expect(skeleton(train)).toEqual({ opt: { lr: 0, steps: 10, tags: [] }, seed: null });
  });

  it("refuses a bad nested value in the launch form before anything is sent", () => {
    const fields = fieldsOf({ net, cfg: train }, {});
    // net is a fieldset; its list of dataclasses is that field's checked JSON editor
    expect(fields.find((f) => f.name === "net")?.subfields?.map((f) => `${f.name}:${f.widget}`)).toEqual([
      "net.name:str", "net.layers:json", "net.dropout:float"]);
    const bad = collect(fields, { "net.name": "a", "net.layers": '[{"width": "4"}]', cfg: '{"opt": {}}' });
    expect(bad).toEqual({ ok: false, errors: { "net.layers": "net.layers[0].width expects int, got str", cfg: "cfg.opt.lr is required" } });
    const good = collect(fields, { "net.name": "a", "net.layers": '[{"width": 4}]', cfg: '{"opt": {"lr": 0.5}}' });
    expect(good).toEqual({ ok: true, inputs: { net: { name: "a", layers: [{ width: 4 }], dropout: null }, cfg: { opt: { lr: 0.5 } } } });
  });
});
