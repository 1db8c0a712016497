import { useAuth } from "./auth";
import { LaunchPlansPage, ModelsPage, VersionsPage } from "./Catalog";
import { VersionPage } from "./VersionPage";
import { ComparePage } from "./ComparePage";
import { ExecutionPage } from "./ExecutionPage";
import { ExecutionsList } from "./ExecutionsList";
import { LaunchPage } from "./LaunchPage";
import { LineagePage } from "./LineagePage";
import { Link } from "./Link";
import { useAllows } from "./roles";
import { route, usePath, type Route } from "./router";
import { SignIn, SignOut } from "./SignIn";

const NAV: [string, string][] = [
  ["/launch", "Launch"], // shown to a token that may launch in some project
  ["/versions", "Versions"],
  ["/launchplans", "Launch plans"],
  ["/models", "Models"],
];

export function App() {
  const r = route(usePath());
  const auth = useAuth();
  const launcher = useAllows(undefined, "launcher");
  return (
    <>
      <header className="top">
        <Link to="/" className="brand">
          rillet
        </Link>
        {NAV.filter(([to]) => to !== "/launch" || launcher).map(([to, label]) => (
          <Link key={to} to={to}>
            {label}
          </Link>
        ))}
        <a href="/docs">API</a>
        {auth.token !== null && <SignOut />}
      </header>
      <main>{auth.asked !== null ? <SignIn reason={auth.asked} /> : <Page r={r} />}</main>
    </>
  );
}

function Page({ r }: { r: Route }) {
  return (
    <>
      {r.page === "executions" && <ExecutionsList />}
      {r.page === "execution" && <ExecutionPage key={r.id} id={r.id} />}
      {r.page === "launch" && (
        <LaunchPage
          key={`${r.from ?? ""}|${r.name ?? ""}|${r.project}|${r.domain}`}
          from={r.from}
          name={r.name}
          project={r.project}
          domain={r.domain}
        />
      )}
      {r.page === "versions" && <VersionsPage />}
      {r.page === "version" && (
        <VersionPage
          key={`${r.project}|${r.domain}|${r.version}`}
          version={r.version}
          project={r.project}
          domain={r.domain}
          file={r.file}
          compare={r.compare}
        />
      )}
      {r.page === "launchplans" && <LaunchPlansPage />}
      {r.page === "models" && <ModelsPage />}
      {r.page === "compare" && <ComparePage ids={r.ids} />}
      {r.page === "lineage" && <LineagePage key={r.ref} reference={r.ref} />}
      {r.page === "missing" && <p role="alert">No page here.</p>}
    </>
  );
}
