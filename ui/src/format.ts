export function when(t: number | null): string {
  if (t === null) return "–";
  return new Date(t * 1000).toLocaleString();
}

export function seconds(from: number | null, to: number | null): string {
  if (from === null) return "–";
  const end = to ?? Date.now() / 1000;
  const s = Math.max(0, end - from);
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

/** A stored value as one short line: inline JSON values (the API sends their canonical
 * JSON text), else its format and size. */
export function valueText(inline: unknown, format: string, size: number): string {
  if (format === "json" && inline !== null && inline !== undefined) {
    let value: unknown = inline;
    if (typeof inline === "string") {
      try {
        value = JSON.parse(inline) as unknown;
      } catch {
        return inline.length > 200 ? `${inline.slice(0, 200)}…` : inline;
      }
    }
    const text = JSON.stringify(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  }
  if (format === "json" && size > 0) return `JSON, ${size} bytes (not inline)`;
  if (format === "json") return "null";
  return `${format}, ${size} bytes`;
}
