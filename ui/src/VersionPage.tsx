// A registered version's page: what it registered, and its code: the bundle's files
// (GET /versions/{version}/files), one shown as text (GET /versions/{version}/file).
import { useQuery } from "@tanstack/react-query";
import { listVersions, versionFile, versionFiles } from "./api";
import { diffLines, fileStates, sideBySide, splitLines } from "./diff";
import { launchHref } from "./Catalog";
import { when } from "./format";
import { Link } from "./Link";
import { useAllows } from "./roles";
import { navigate, versionPath } from "./router";

/** The file a page opens on: the one asked for, else the first Python file. */
export function firstFile(files: { path: string }[], asked: string | null): string | null {
  if (asked !== null && files.some((f) => f.path === asked)) return asked;
  return (files.find((f) => f.path.endsWith(".py")) ?? files[0])?.path ?? null;
}

/** One file of two versions side by side: removed lines (−) beside added ones (+). */
function FileDiff({ path, left, right, a, b }: { path: string; left: string | null; right: string | null; a: string; b: string }) {
  const rows = sideBySide(diffLines(splitLines(left ?? ""), splitLines(right ?? "")));
  const changed = rows.filter((r) => r.kind !== "same").length;
  return (
    <div className="diff" role="region" aria-label={`diff of ${path}`} tabIndex={0} data-diff={path}>
      <p className="muted">
        {left === null ? `only in ${b}` : right === null ? `only in ${a}` : changed === 0 ? "the same in both" : `${changed} ${changed === 1 ? "line differs" : "lines differ"}`}
      </p>
      <table className="diff">
        <thead>
          <tr>
            <th scope="col" colSpan={2}>{a}</th>
            <th scope="col" colSpan={2}>{b}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} className={`diff-${r.kind}`} data-kind={r.kind}>
              <td className="n">{r.left?.n ?? ""}</td>
              <td className={r.left && r.kind !== "same" ? "old" : undefined}>
                {r.left && r.kind !== "same" ? <span className="sign">− </span> : null}
                <code>{r.left?.text ?? ""}</code>
              </td>
              <td className="n">{r.right?.n ?? ""}</td>
              <td className={r.right && r.kind !== "same" ? "new" : undefined}>
                {r.right && r.kind !== "same" ? <span className="sign">+ </span> : null}
                <code>{r.right?.text ?? ""}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function VersionPage({
  version,
  project,
  domain,
  file,
  compare = null,
}: {
  version: string;
  project: string;
  domain: string;
  file: string | null;
  /** Another version of the same project and domain: its code beside this one's. */
  compare?: string | null;
}) {
  const listing = useQuery({
    queryKey: ["version-files", project, domain, version],
    queryFn: () => versionFiles(version, project, domain),
    staleTime: Infinity, // a registered version never changes
  });
  const chosen = listing.data ? firstFile(listing.data.files, file) : null;
  const text = useQuery({
    queryKey: ["version-file", project, domain, version, chosen],
    queryFn: () => versionFile(version, chosen ?? "", project, domain),
    enabled: chosen !== null,
    staleTime: Infinity,
  });
  const others = useQuery({ queryKey: ["versions", project, domain], queryFn: () => listVersions(project, domain) });
  const otherListing = useQuery({
    queryKey: ["version-files", project, domain, compare],
    queryFn: () => versionFiles(compare ?? "", project, domain),
    enabled: compare !== null,
    staleTime: Infinity,
  });
  const states = listing.data && otherListing.data ? fileStates(listing.data.files, otherListing.data.files) : [];
  const shownFile = compare !== null ? (states.find((f) => f.path === file)?.path ?? firstFile(states, file)) : chosen;
  const inThis = shownFile !== null && states.some((f) => f.path === shownFile && f.state !== "added");
  const inOther = shownFile !== null && states.some((f) => f.path === shownFile && f.state !== "removed");
  const leftText = useQuery({
    queryKey: ["version-file", project, domain, version, shownFile],
    queryFn: () => versionFile(version, shownFile ?? "", project, domain),
    enabled: compare !== null && inThis,
    staleTime: Infinity,
  });
  const rightText = useQuery({
    queryKey: ["version-file", project, domain, compare, shownFile],
    queryFn: () => versionFile(compare ?? "", shownFile ?? "", project, domain),
    enabled: compare !== null && inOther,
    staleTime: Infinity,
  });
  const versionNames = [...new Set((others.data ?? []).filter((e) => e.version !== version)
    .sort((x, y) => y.created_at - x.created_at).map((e) => e.version))];
  const mayLaunch = useAllows(project, "launcher");
  return (
    <section aria-labelledby="version-title">
      <p>
        <Link to="/versions">← Versions</Link>
      </p>
      <h1 id="version-title">Version {version}</h1>
      {listing.isError && <p role="alert">Could not read version {version}: {listing.error.message}</p>}
      {listing.data && (
        <>
          <p className="muted">
            {project}/{domain} · bundle <code title={listing.data.bundle_hash}>{listing.data.bundle_hash.slice(0, 12)}</code> ·
            registered {when(listing.data.created_at)}
          </p>
          <h2>Registered</h2>
          <ul className="entities">
            {listing.data.entities.map((e) => (
              <li key={e.name} data-entity={e.name}>
                {e.name} <span className="muted">{e.kind}</span>
                {e.kind !== "task" && mayLaunch && (
                  <>
                    {" "}
                    <Link to={launchHref(e.name, project, domain)}>Launch {e.name}</Link>
                  </>
                )}
              </li>
            ))}
          </ul>
          <h2>Code</h2>
          <label className="pick">
            Compare with{" "}
            <select
              name="compare"
              value={compare ?? ""}
              onChange={(e) => navigate(versionPath(version, project, domain, shownFile ?? undefined, e.target.value || null), true)}
            >
              <option value="">no other version</option>
              {versionNames.map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
              {compare !== null && !versionNames.includes(compare) && <option value={compare}>{compare}</option>}
            </select>
          </label>
          {compare !== null && otherListing.isError && (
            <p role="alert">Could not read version {compare}: {otherListing.error.message}</p>
          )}
          {compare !== null && otherListing.data && (
            <div className="code-view">
              <nav aria-label={`files of ${version} and ${compare}`}>
                <ul>
                  {states.map((f) => (
                    <li key={f.path} data-state={f.state}>
                      <a
                        href={versionPath(version, project, domain, f.path, compare)}
                        aria-current={f.path === shownFile ? "page" : undefined}
                        onClick={(ev) => {
                          ev.preventDefault();
                          navigate(versionPath(version, project, domain, f.path, compare), true);
                        }}
                      >
                        {f.path}
                      </a>{" "}
                      <span className="muted">{f.state === "both" ? "" : f.state === "added" ? `only in ${compare}` : `only in ${version}`}</span>
                    </li>
                  ))}
                </ul>
              </nav>
              <div>
                {leftText.isError && <p role="alert">Could not show {shownFile}: {leftText.error.message}</p>}
                {rightText.isError && <p role="alert">Could not show {shownFile}: {rightText.error.message}</p>}
                {shownFile !== null &&
                  (!inThis || leftText.data) &&
                  (!inOther || rightText.data) && (
                    <FileDiff
                      path={shownFile}
                      left={inThis ? (leftText.data?.text ?? "") : null}
                      right={inOther ? (rightText.data?.text ?? "") : null}
                      a={version}
                      b={compare}
                    />
                  )}
              </div>
            </div>
          )}
          {compare === null && (
          <div className="code-view">
            <nav aria-label="files of the bundle">
              <ul>
                {listing.data.files.map((f) => (
                  <li key={f.path}>
                    <a
                      href={versionPath(version, project, domain, f.path)}
                      aria-current={f.path === chosen ? "page" : undefined}
                      onClick={(ev) => {
                        ev.preventDefault();
                        navigate(versionPath(version, project, domain, f.path), true);
                      }}
                    >
                      {f.path}
                    </a>{" "}
                    <span className="muted">{f.size} B</span>
                  </li>
                ))}
              </ul>
            </nav>
            <div>
              {text.isError && <p role="alert">Could not show {chosen}: {text.error.message}</p>}
              {text.data && (
                <pre className="code" aria-label={`code of ${text.data.path}`} tabIndex={0} data-file={text.data.path}>
                  {text.data.text}
                </pre>
              )}
            </div>
          </div>
          )}
        </>
      )}
    </section>
  );
}
