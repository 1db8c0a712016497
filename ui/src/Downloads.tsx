import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { previewArtifact, saveDownload, type PreviewShape } from "./api";

/** A link that saves what an API path answers (with the token, see saveDownload); a
 * refusal or a corrupt value is said next to it. */
export function DownloadLink({ url, name, label }: { url: string; name: string; label: string }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <a
        href={url}
        className="download"
        onClick={(e) => {
          e.preventDefault();
          setError(null);
          saveDownload(url, name).catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
        }}
      >
        {label}
      </a>
      {error && (
        <span role="alert" className="field-error">
          {" "}
          Could not download: {error}
        </span>
      )}
    </>
  );
}

/** Which stored values have a preview (GET /artifacts/{hash}/preview): DataFrames,
 * ndarrays, files (a CSV as a table, text as its first lines) and JSON stored out of
 * line. A pickle never has one (it is never loaded); inline JSON is shown as it is. */
export function previewable(format: string, stored: boolean): boolean {
  return stored && ["parquet", "npy", "file", "json"].includes(format);
}

function caption(p: PreviewShape): string {
  const shown = p.truncated ? `, the first ${p.kind === "text" ? "lines" : p.rows.length} shown` : "";
  switch (p.kind) {
    case "ndarray":
      return `an array of shape ${(p.shape ?? []).join(" × ") || "()"}, ${p.columns[0]?.type ?? ""}${shown}`;
    case "json":
      return `${p.num_rows} ${p.num_rows === 1 ? "item" : "items"}${shown}`;
    case "text":
      return `${p.num_rows} lines${shown}`;
    default:
      return `${p.num_rows} rows × ${p.num_columns} columns${shown}`;
  }
}

/** The rows of a table as a table under its columns (name and type each). */
export function RowsTable({ columns, rows, title }: { columns: PreviewShape["columns"]; rows: Record<string, unknown>[]; title: string }) {
  return (
    <table className="frame">
      <caption>{title}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.name} scope="col" data-column={c.name}>
              {c.name} <span className="muted">{c.type}</span>
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, i) => (
          <tr key={i}>
            {columns.map((c) => (
              <td key={c.name}>{cell(row[c.name])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A stored value's first rows (a DataFrame under its schema, an ndarray's rows, a
 * CSV's rows, JSON records) or a text file's first lines. */
export function ValuePreview({ hash, label }: { hash: string; label: string }) {
  const preview = useQuery({ queryKey: ["preview", hash], queryFn: () => previewArtifact(hash), staleTime: Infinity });
  if (preview.isPending) return <p className="muted">Reading the value…</p>;
  if (preview.isError) return <p className="muted">No preview: {preview.error.message}</p>;
  const p = preview.data;
  if (p.kind === "none") return <p className="muted">No preview: {p.reason ?? "none"}</p>;
  return (
    <div className="frame" role="region" aria-label={`preview of ${label}`} tabIndex={0} data-preview={hash} data-kind={p.kind}>
      {p.kind === "text" ? (
        <>
          <p className="muted">{caption(p)}</p>
          <pre className="logs" tabIndex={0}>{p.text ?? ""}</pre>
        </>
      ) : (
        <RowsTable columns={p.columns} rows={p.rows} title={caption(p)} />
      )}
    </div>
  );
}

/** An inline JSON value that is a list of records (objects), as a table; else null. */
export function InlineRecords({ value, label }: { value: unknown; label: string }) {
  if (!Array.isArray(value) || value.length === 0 || value.length > 500) return null;
  if (!value.every((v) => typeof v === "object" && v !== null && !Array.isArray(v))) return null;
  const names = [...new Set(value.slice(0, 50).flatMap((v) => Object.keys(v as object)))].slice(0, 50);
  const columns = names.map((name) => ({ name, type: "", nullable: true }));
  const rows = value.slice(0, 20) as Record<string, unknown>[];
  return (
    <div className="frame" role="region" aria-label={`records of ${label}`} tabIndex={0}>
      <RowsTable
        columns={columns}
        rows={rows}
        title={`${value.length} records${value.length > rows.length ? `, the first ${rows.length} shown` : ""}`}
      />
    </div>
  );
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "null";
  return typeof v === "string" ? v : JSON.stringify(v);
}
