// A launch form from a workflow's type descriptors: one field per input, its widget
// chosen by the descriptor's kind, its text parsed and checked before anything is sent.
import type { Descriptor } from "./api";
import { misfit } from "./nested";

export type Widget = "int" | "float" | "bool" | "str" | "enum" | "file" | "fields" | "list" | "json";

export interface Field {
  name: string;
  descriptor: Descriptor;
  widget: Widget;
  optional: boolean;
  choices: unknown[];
  hasDefault: boolean;
  initial: string;
  /** widget "fields": a dataclass (or namedtuple), one widget per field (a nested
   * dataclass a fieldset of its own); their texts are kept under ``name.field``. */
  subfields?: Field[];
  /** widget "list": a list (or set) of scalars, one row per item; the field's text is
   * the JSON array of the items' texts, each item shown by this field's widget. */
  item?: Field;
}

const SCALARS = new Set(["int", "float", "bool", "str", "enum", "literal"]);
const LISTS = new Set(["list", "set", "frozenset"]);
const MAX_DEPTH = 3; // dataclasses inside dataclasses drawn as fieldsets, then JSON

/** A dataclass or namedtuple of 1 to 30 fields, at most ``MAX_DEPTH`` deep: drawn as a
 * fieldset, one widget per field (scalars, lists of scalars and dataclasses as their
 * own widgets; any other field, a dict say, its checked JSON editor). */
function record(d: Descriptor, depth: number): boolean {
  if (d.kind !== "dataclass" && d.kind !== "namedtuple") return false;
  const fields = d.fields;
  if (typeof fields !== "object" || fields === null || depth >= MAX_DEPTH) return false;
  const all = Object.values(fields as Record<string, Descriptor>);
  return all.length > 0 && all.length <= 30;
}

/** A list, set or frozenset of (non-optional) scalars: one row per item. */
function scalarList(d: Descriptor): boolean {
  if (!LISTS.has(d.kind) || typeof d.item !== "object" || d.item === null) return false;
  return SCALARS.has((d.item as Descriptor).kind);
}

function inner(d: Descriptor): { d: Descriptor; optional: boolean } {
  if (d.kind === "optional" && typeof d.inner === "object" && d.inner !== null)
    return { d: d.inner as Descriptor, optional: true };
  return { d, optional: false };
}

function widgetOf(d: Descriptor, depth = 0): Widget {
  switch (d.kind) {
    case "int":
    case "float":
    case "bool":
    case "str":
      return d.kind;
    case "enum":
    case "literal":
      return "enum";
    case "file":
    case "directory":
      return "file"; // an upload (artifact:<hash>), or a path or URL the worker can read
    case "dataclass":
    case "namedtuple":
      return record(d, depth) ? "fields" : "json";
    case "list":
    case "set":
    case "frozenset":
      return scalarList(d) ? "list" : "json";
    default:
      return "json"; // lists, dicts, tuples, dataclasses, models, unions...
  }
}

/** The text a field starts with: the default as the widget shows it. */
function initialText(widget: Widget, value: unknown, present: boolean, item?: Widget): string {
  if (widget === "list")
    return JSON.stringify(Array.isArray(value) ? value.map((x) => initialText(item ?? "json", x, true)) : []);
  if (!present || value === null || value === undefined) return "";
  if (widget === "str" && typeof value === "string") return value;
  if (widget === "enum") return JSON.stringify(value);
  if (widget === "json") return JSON.stringify(value, null, 1);
  return String(value);
}

/** ``field`` and its subfields (and item) renamed under ``prefix``. */
function under(prefix: string, field: Field): Field {
  const name = `${prefix}.${field.name}`;
  return {
    ...field,
    name,
    subfields: field.subfields?.map((f) => under(prefix, f)),
    item: field.item && { ...field.item, name: `${name}[]` },
  };
}

/** The field that shows and checks one item of a list field (``name[i]``). */
export function itemField(list: Field, i: number): Field {
  return { ...(list.item as Field), name: `${list.name}[${i}]` };
}

/** The items' texts of a list field's text (a JSON array of strings; else none). */
export function listItems(text: string): string[] {
  try {
    const got = JSON.parse(text) as unknown;
    return Array.isArray(got) ? got.map((x) => (typeof x === "string" ? x : JSON.stringify(x))) : [];
  } catch {
    return [];
  }
}

export function fieldsOf(
  inputs: Record<string, Descriptor>,
  defaults: Record<string, unknown>,
  fixed: Record<string, unknown> = {},
  depth = 0,
): Field[] {
  return Object.keys(inputs)
    .filter((name) => !(name in fixed))
    .sort()
    .map((name) => {
      const { d, optional } = inner(inputs[name] as Descriptor);
      // an optional dataclass or list stays JSON: null or a value
      const widget = optional && (record(d, depth) || scalarList(d)) ? "json" : widgetOf(d, depth);
      const hasDefault = name in defaults;
      const item = widget === "list" ? fieldsOf({ [`${name}[]`]: d.item as Descriptor }, {}, {}, depth + 1)[0] : undefined;
      const field: Field = {
        name,
        descriptor: d,
        widget,
        optional,
        choices: Array.isArray(d.values) ? (d.values as unknown[]) : [],
        hasDefault,
        initial: initialText(widget, defaults[name], hasDefault, item?.widget),
        item,
      };
      if (widget === "fields") {
        const given = defaults[name];
        const inside = typeof given === "object" && given !== null ? (given as Record<string, unknown>) : {};
        const order = Object.keys(d.fields as Record<string, Descriptor>);
        field.subfields = fieldsOf(d.fields as Record<string, Descriptor>, inside, {}, depth + 1)
          .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))
          .map((f) => under(name, f));
      }
      return field;
    });
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/** The JSON value of one field's text, or why it is refused. An empty field is
 * left out (the default applies), null for an optional input, or an error. */
export function parseField(field: Field, text: string): Parsed | { ok: true; omit: true } {
  const t = field.widget === "str" ? text : text.trim();
  if (t === "" && field.widget !== "bool" && field.widget !== "list") {
    if (field.hasDefault) return { ok: true, omit: true };
    if (field.optional) return { ok: true, value: null };
    if (field.widget !== "str") return { ok: false, error: `${field.name} is required` };
  }
  switch (field.widget) {
    case "int":
      return /^[+-]?\d+$/.test(t)
        ? { ok: true, value: Number(t) }
        : { ok: false, error: `${field.name} expects an integer, got '${t}'` };
    case "float": {
      const n = Number(t);
      return Number.isFinite(n) && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)
        ? { ok: true, value: n }
        : { ok: false, error: `${field.name} expects a number, got '${t}'` };
    }
    case "bool":
      return { ok: true, value: t === "true" };
    case "str":
      return { ok: true, value: text };
    case "file":
      return { ok: true, value: t };
    case "fields": // collected from its subfields (collect)
      return { ok: false, error: `${field.name} is made of fields` };
    case "list": {
      // each item checked as its own field (named name[i]); an empty str item is ""
      const values: unknown[] = [];
      for (const [i, itemText] of listItems(text).entries()) {
        const got = parseField(itemField(field, i), itemText);
        if (!got.ok) return got;
        values.push("omit" in got ? null : got.value);
      }
      return { ok: true, value: values };
    }
    case "enum": {
      const value = JSON.parse(t) as unknown;
      return field.choices.some((c) => JSON.stringify(c) === JSON.stringify(value))
        ? { ok: true, value }
        : { ok: false, error: `${field.name} must be one of ${field.choices.map(String).join(", ")}` };
    }
    case "json": {
      let value: unknown;
      try {
        value = JSON.parse(t);
      } catch {
        return { ok: false, error: `${field.name} is not valid JSON` };
      }
      // Checked all the way down: a dataclass's fields, a model's schema, list items.
      const bad = misfit(field.descriptor, value, field.name);
      return bad === null ? { ok: true, value } : { ok: false, error: bad };
    }
  }
}

/** The inputs to send, or the errors per field (nothing is sent then). */
export function collect(fields: Field[], texts: Record<string, string>):
  { ok: true; inputs: Record<string, unknown> } | { ok: false; errors: Record<string, string> } {
  const inputs: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    if (f.widget === "fields" && f.subfields) {
      // one object from its fields' widgets; an empty field keeps the default's value
      const got = collect(f.subfields, texts);
      if (!got.ok) Object.assign(errors, got.errors);
      else
        inputs[f.name] = Object.fromEntries(
          Object.entries(got.inputs).map(([k, v]) => [k.slice(f.name.length + 1), v]),
        );
      continue;
    }
    const parsed = parseField(f, texts[f.name] ?? f.initial);
    if (!parsed.ok) errors[f.name] = parsed.error;
    else if (!("omit" in parsed)) inputs[f.name] = parsed.value;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, inputs };
}

/** A File input's value naming a stored file (an upload, or the file of an earlier run). */
export const UPLOADED = "artifact:";

/** Whether a shown value stands for one not shown whole (a record with its hash). */
export function isRecord(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return ["type", "hash", "size", "uri", "pickled"].every((k) => k in value);
}

/** The texts of a relaunch: each field from the earlier execution's value when it is
 * shown inline (a value kept as a file or pickle keeps the field's default). */
export function prefilled(fields: Field[], values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    fields.flatMap((f): [string, string][] => {
      if (f.widget === "fields" && f.subfields) {
        const v = values[f.name];
        const inside = typeof v === "object" && v !== null && !isRecord(v) ? (v as Record<string, unknown>) : {};
        const short = Object.fromEntries(
          Object.entries(inside).map(([k, x]) => [`${f.name}.${k}`, x]),
        );
        return Object.entries(prefilled(f.subfields, short));
      }
      const v0 = values[f.name];
      // a file the earlier execution read is stored: launched again by its digest
      if (f.widget === "file" && isRecord(v0) && typeof (v0 as { hash?: unknown }).hash === "string")
        return [[f.name, `${UPLOADED}${(v0 as { hash: string }).hash}`]];
      if (!(f.name in values) || isRecord(v0)) return [[f.name, f.initial]];
      const v = values[f.name];
      return [[f.name, f.optional && v === null ? "" : initialText(f.widget, v, true, f.item?.widget)]];
    }),
  );
}
