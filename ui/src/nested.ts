// A JSON input checked against its type descriptor, all the way down (a dataclass's
// fields, a pydantic model's JSON schema, list items, dict values...), so that a launch
// form refuses a bad part before anything is sent and names where it is
// ("cfg.layers[1] expects int, got str"). It mirrors the server's own check
// (rillet/platform/_check.py `fits`) and goes further into pydantic models.
import type { Descriptor } from "./api";

type Schema = Record<string, unknown>;

/** A short, Python-like name of a descriptor: list[int], Optional[str], Config. */
export function typeLabel(d: Descriptor): string {
  const part = (x: unknown) => typeLabel(x as Descriptor);
  switch (d.kind) {
    case "list":
    case "set":
    case "frozenset":
      return `${d.kind}[${part(d.item)}]`;
    case "dict":
      return `dict[${part(d.key)}, ${part(d.value)}]`;
    case "tuple":
      return d.variadic ? `tuple[${part(d.item)}, ...]` : `tuple[${((d.items as unknown[]) ?? []).map(part).join(", ")}]`;
    case "optional":
      return `Optional[${part(d.inner)}]`;
    case "union":
      return ((d.options as unknown[]) ?? []).map(part).join(" | ");
    case "none":
      return "None";
    default:
      return typeof d.name === "string" ? (d.name.split(".").pop() ?? d.name) : d.kind;
  }
}

export function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "str";
  return typeof v === "object" ? "dict" : typeof v;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Why ``v`` does not fit ``d`` (with where, from ``at``), or null when it fits. */
export function misfit(d: Descriptor, v: unknown, at: string): string | null {
  const expects = () => `${at} expects ${typeLabel(d)}, got ${jsonType(v)}`;
  switch (d.kind) {
    case "any":
    case "pickle":
    case "ref":
      return null;
    case "none":
      return v === null ? null : expects();
    case "optional":
      return v === null ? null : misfit(d.inner as Descriptor, v, at);
    case "union":
      return ((d.options as Descriptor[]) ?? []).some((o) => misfit(o, v, at) === null) ? null : expects();
    case "bool":
      return typeof v === "boolean" ? null : expects();
    case "int":
      return typeof v === "number" && Number.isInteger(v) ? null : expects();
    case "float":
    case "timedelta":
      return typeof v === "number" ? null : expects();
    case "str":
    case "bytes":
    case "file":
    case "directory":
      return typeof v === "string" ? null : expects();
    case "datetime":
    case "date":
      return typeof v === "string" && !Number.isNaN(Date.parse(v)) ? null : `${at} expects an ISO ${d.kind}, got ${JSON.stringify(v)}`;
    case "list":
    case "set":
    case "frozenset":
      if (!Array.isArray(v)) return expects();
      return first(v.map((x, i) => misfit(d.item as Descriptor, x, `${at}[${i}]`)));
    case "tuple": {
      if (!Array.isArray(v)) return expects();
      if (d.variadic) return first(v.map((x, i) => misfit(d.item as Descriptor, x, `${at}[${i}]`)));
      const items = (d.items as Descriptor[]) ?? [];
      if (v.length !== items.length) return `${at} expects ${items.length} items (${typeLabel(d)}), got ${v.length}`;
      return first(v.map((x, i) => misfit(items[i] as Descriptor, x, `${at}[${i}]`)));
    }
    case "dict":
      if (!isObject(v)) return expects();
      return first(Object.entries(v).map(([k, x]) => misfit(d.value as Descriptor, x, `${at}[${JSON.stringify(k)}]`)));
    case "enum":
    case "literal": {
      const values = (d.values as unknown[]) ?? [];
      return values.some((x) => same(x, v)) ? null : `${at} must be one of ${values.map((x) => JSON.stringify(x)).join(", ")}`;
    }
    case "dataclass":
    case "namedtuple": {
      if (!isObject(v)) return expects();
      const fields = (d.fields as Record<string, Descriptor>) ?? {};
      const unknown = Object.keys(v).filter((k) => !(k in fields));
      if (unknown.length > 0)
        return `${at} has no field '${unknown[0]}' (${typeLabel(d)} has ${Object.keys(fields).join(", ") || "none"})`;
      return first(Object.entries(v).map(([k, x]) => misfit(fields[k] as Descriptor, x, `${at}.${k}`)));
    }
    case "pydantic": {
      if (!isObject(v)) return expects();
      const schema = (d.schema as Schema) ?? {};
      return schemaMisfit(schema, v, at, (schema.$defs as Record<string, Schema>) ?? {});
    }
    default:
      return null; // a DataFrame, an ndarray...: decoded and checked by the worker
  }
}

function first(found: (string | null)[]): string | null {
  return found.find((x) => x !== null) ?? null;
}

/** The part of JSON Schema that pydantic writes for plain models: type, properties,
 * required, items, enum/const, anyOf/oneOf/allOf and $ref into $defs. */
function schemaMisfit(s: Schema, v: unknown, at: string, defs: Record<string, Schema>): string | null {
  if (typeof s.$ref === "string") {
    const target = defs[s.$ref.split("/").pop() ?? ""];
    return target ? schemaMisfit(target, v, at, defs) : null;
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = s[key];
    if (Array.isArray(options) && !options.some((o) => schemaMisfit(o as Schema, v, at, defs) === null))
      return `${at} fits none of its ${options.length} allowed shapes`;
  }
  if (Array.isArray(s.allOf)) {
    const found = first(s.allOf.map((o) => schemaMisfit(o as Schema, v, at, defs)));
    if (found) return found;
  }
  if (Array.isArray(s.enum) && !s.enum.some((x) => same(x, v)))
    return `${at} must be one of ${s.enum.map((x) => JSON.stringify(x)).join(", ")}`;
  if ("const" in s && !same(s.const, v)) return `${at} must be ${JSON.stringify(s.const)}`;
  const types = typeof s.type === "string" ? [s.type] : Array.isArray(s.type) ? (s.type as string[]) : null;
  if (types && !types.some((t) => jsonSchemaType(t, v)))
    return `${at} expects ${types.join(" or ")}, got ${jsonType(v)}`;
  if (isObject(v)) {
    const props = (s.properties as Record<string, Schema>) ?? {};
    const missing = ((s.required as string[]) ?? []).find((k) => !(k in v));
    if (missing !== undefined) return `${at}.${missing} is required`;
    if (s.additionalProperties === false) {
      const extra = Object.keys(v).find((k) => !(k in props));
      if (extra !== undefined) return `${at} has no field '${extra}'`;
    }
    return first(Object.entries(v).map(([k, x]) => (props[k] ? schemaMisfit(props[k], x, `${at}.${k}`, defs) : null)));
  }
  if (Array.isArray(v) && isObject(s.items)) return first(v.map((x, i) => schemaMisfit(s.items as Schema, x, `${at}[${i}]`, defs)));
  return null;
}

function jsonSchemaType(t: string, v: unknown): boolean {
  switch (t) {
    case "object":
      return isObject(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    case "null":
      return v === null;
    default:
      return true;
  }
}

/** A JSON value of the descriptor's shape to show as the editor's placeholder: each
 * field of a dataclass or model with a value of its type. */
export function skeleton(d: Descriptor, depth = 0): unknown {
  if (depth > 6) return null;
  switch (d.kind) {
    case "int":
    case "float":
    case "timedelta":
      return 0;
    case "bool":
      return false;
    case "str":
    case "bytes":
    case "file":
    case "directory":
      return "";
    case "datetime":
      return "2026-01-01T00:00:00";
    case "date":
      return "2026-01-01";
    case "list":
    case "set":
    case "frozenset":
      return [];
    case "tuple":
      return d.variadic ? [] : ((d.items as Descriptor[]) ?? []).map((x) => skeleton(x, depth + 1));
    case "dict":
      return {};
    case "enum":
    case "literal":
      return ((d.values as unknown[]) ?? [])[0] ?? null;
    case "dataclass":
    case "namedtuple":
      return Object.fromEntries(
        Object.entries((d.fields as Record<string, Descriptor>) ?? {}).map(([k, f]) => [k, skeleton(f, depth + 1)]),
      );
    case "pydantic":
      return schemaSkeleton((d.schema as Schema) ?? {}, ((d.schema as Schema)?.$defs as Record<string, Schema>) ?? {}, depth);
    default:
      return null;
  }
}

function schemaSkeleton(s: Schema, defs: Record<string, Schema>, depth: number): unknown {
  if (depth > 6) return null;
  if (typeof s.$ref === "string") {
    const target = defs[s.$ref.split("/").pop() ?? ""];
    return target ? schemaSkeleton(target, defs, depth + 1) : null;
  }
  if ("default" in s) return s.default;
  if (Array.isArray(s.enum)) return s.enum[0] ?? null;
  if (Array.isArray(s.anyOf)) return schemaSkeleton((s.anyOf[0] as Schema) ?? {}, defs, depth + 1);
  switch (s.type) {
    case "object":
      return Object.fromEntries(
        Object.entries((s.properties as Record<string, Schema>) ?? {}).map(([k, p]) => [k, schemaSkeleton(p, defs, depth + 1)]),
      );
    case "array":
      return [];
    case "string":
      return "";
    case "integer":
    case "number":
      return 0;
    case "boolean":
      return false;
    default:
      return null;
  }
}

/** The fields of a dataclass or pydantic input, one line each ("lr: float"), shown
 * under its editor. */
export function fieldLines(d: Descriptor): string[] {
  if (d.kind === "dataclass" || d.kind === "namedtuple")
    return Object.entries((d.fields as Record<string, Descriptor>) ?? {}).map(([k, f]) => `${k}: ${typeLabel(f)}`);
  if (d.kind === "pydantic") {
    const schema = (d.schema as Schema) ?? {};
    const required = new Set((schema.required as string[]) ?? []);
    return Object.entries((schema.properties as Record<string, Schema>) ?? {}).map(
      ([k, p]) => `${k}: ${schemaLabel(p)}${required.has(k) ? "" : " (optional)"}`,
    );
  }
  return [];
}

function schemaLabel(p: Schema): string {
  if (typeof p.$ref === "string") return p.$ref.split("/").pop() ?? "object";
  if (Array.isArray(p.anyOf)) return p.anyOf.map((o) => schemaLabel(o as Schema)).join(" | ");
  if (p.type === "array" && typeof p.items === "object" && p.items !== null) return `list[${schemaLabel(p.items as Schema)}]`;
  return typeof p.type === "string" ? p.type : "any";
}
