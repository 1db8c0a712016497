import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { previewArtifact, saveDownload } from "./api";

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

/** A stored DataFrame's first rows under its schema (name and type per column). */
export function FramePreview({ hash, label }: { hash: string; label: string }) {
  const preview = useQuery({ queryKey: ["preview", hash], queryFn: () => previewArtifact(hash), staleTime: Infinity });
  if (preview.isPending) return <p className="muted">Reading the table…</p>;
  if (preview.isError) return <p className="muted">No preview: {preview.error.message}</p>;
  const p = preview.data;
  return (
    <div className="frame" role="region" aria-label={`preview of ${label}`} tabIndex={0} data-preview={hash}>
      <table className="frame">
        <caption>
          {p.num_rows} rows × {p.num_columns} columns{p.truncated ? `, the first ${p.rows.length} shown` : ""}
        </caption>
        <thead>
          <tr>
            {p.columns.map((c) => (
              <th key={c.name} scope="col" data-column={c.name}>
                {c.name} <span className="muted">{c.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {p.rows.map((row, i) => (
            <tr key={i}>
              {p.columns.map((c) => (
                <td key={c.name}>{cell(row[c.name])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "null";
  return typeof v === "string" ? v : JSON.stringify(v);
}
