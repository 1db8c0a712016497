import { describe, expect, it } from "vitest";
import { collect, fieldsOf } from "./form";

const inputs = {
  n: { kind: "int" },
  rate: { kind: "float" },
  flag: { kind: "bool" },
  name: { kind: "str" },
  color: { kind: "enum", name: "m.Color", values: ["red", "blue"] },
  xs: { kind: "list", item: { kind: "int" } },
  limit: { kind: "optional", inner: { kind: "int" } },
  // a dataclass with a list inside: a fieldset, the list one row per item
  // (fields.test.tsx); a dict stays a checked JSON editor
  cfg: { kind: "dataclass", name: "m.Cfg", fields: { a: { kind: "list", item: { kind: "int" } } } },
  meta: { kind: "dict", key: { kind: "str" }, value: { kind: "float" } },
};
const defaults = { rate: 0.5, flag: true, name: "x", color: "red", xs: [1, 2], meta: {} };

describe("the launch form's fields", () => {
  it("picks a widget per descriptor and fills in the defaults", () => {
    const fields = fieldsOf(inputs, defaults);
    const by = Object.fromEntries(fields.map((f) => [f.name, f]));
    expect(fields.map((f) => f.name)).toEqual(["cfg", "color", "flag", "limit", "meta", "n", "name", "rate", "xs"]);
    expect(by.n!.widget).toBe("int");
    expect(by.color!.widget).toBe("enum");
    expect(by.color!.initial).toBe('"red"');
    expect(by.flag!.initial).toBe("true");
    expect(by.xs!.widget).toBe("list");
    expect(by.xs!.item!.widget).toBe("int");
    expect(JSON.parse(by.xs!.initial)).toEqual(["1", "2"]); // the items' texts
    expect(by.limit!.optional).toBe(true);
    expect(by.limit!.widget).toBe("int");
    expect(by.cfg!.widget).toBe("fields");
    expect(by.cfg!.subfields!.map((f) => `${f.name}:${f.widget}`)).toEqual(["cfg.a:list"]);
    expect(by.meta!.widget).toBe("json");
  });

  it("leaves out the inputs a launch plan fixes", () => {
    expect(fieldsOf(inputs, defaults, { n: 3 }).map((f) => f.name)).not.toContain("n");
  });

  it("collects typed JSON values, and null for an empty optional", () => {
    const fields = fieldsOf(inputs, defaults);
    const got = collect(fields, { n: "7", "cfg.a": '["1"]', meta: '{"k": 1.5}', rate: "2.5e-1", limit: "" });
    expect(got).toEqual({
      ok: true,
      inputs: { n: 7, cfg: { a: [1] }, meta: { k: 1.5 }, rate: 0.25, flag: true, name: "x", color: "red", xs: [1, 2], limit: null },
    });
  });

  it("refuses bad values before anything is sent, naming each input", () => {
    const fields = fieldsOf(inputs, defaults);
    const got = collect(fields, { n: "2.5", rate: "fast", xs: '["1", "x"]', "cfg.a": '["?"]', meta: "[1", color: '"green"' });
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(got.errors).toEqual({
      n: "n expects an integer, got '2.5'",
      rate: "rate expects a number, got 'fast'",
      xs: "xs[1] expects an integer, got 'x'",
      "cfg.a": "cfg.a[0] expects an integer, got '?'",
      meta: "meta is not valid JSON",
      color: "color must be one of red, blue",
    });
    const missing = collect(fields, { meta: '{"k": "x"}' });
    expect(missing.ok || missing.errors).toEqual({ n: "n is required", meta: 'meta["k"] expects float, got str' });
  });
});
