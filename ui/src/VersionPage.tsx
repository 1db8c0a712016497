// A registered version's page: what it registered, and its code: the bundle's files
// (GET /versions/{version}/files), one shown as text (GET /versions/{version}/file).
import { useQuery } from "@tanstack/react-query";
import { versionFile, versionFiles } from "./api";
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

export function VersionPage({
  version,
  project,
  domain,
  file,
}: {
  version: string;
  project: string;
  domain: string;
  file: string | null;
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
        </>
      )}
    </section>
  );
}
