import { ComparePage } from "./ComparePage";
import { ExecutionPage } from "./ExecutionPage";
import { ExecutionsList } from "./ExecutionsList";
import { LaunchPage } from "./LaunchPage";
import { LineagePage } from "./LineagePage";
import { navigate, route, usePath } from "./router";

export function App() {
  const r = route(usePath());
  return (
    <>
      <header className="top">
        <a
          href="/"
          className="brand"
          onClick={(ev) => {
            ev.preventDefault();
            navigate("/");
          }}
        >
          rillet
        </a>
        <a
          href="/launch"
          onClick={(ev) => {
            ev.preventDefault();
            navigate("/launch");
          }}
        >
          Launch
        </a>
        <a href="/docs">API</a>
      </header>
      <main>
        {r.page === "executions" && <ExecutionsList />}
        {r.page === "execution" && <ExecutionPage key={r.id} id={r.id} />}
        {r.page === "launch" && <LaunchPage key={r.from ?? ""} from={r.from} />}
        {r.page === "compare" && <ComparePage ids={r.ids} />}
        {r.page === "lineage" && <LineagePage key={r.ref} reference={r.ref} />}
        {r.page === "missing" && <p role="alert">No page here.</p>}
      </main>
    </>
  );
}
