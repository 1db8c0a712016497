// Point 6 of the UI: registered versions, launch plans (with their schedule, next fire
// time and Activate/Deactivate) and the model registry. Each page reads one existing
// route of the API: GET /versions, GET /launchplans (+ POST activate/deactivate),
// GET /models and GET /models/{name}.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  getModel,
  listLaunchPlans,
  listModels,
  moveAlias,
  listVersions,
  setPlanActive,
  type LaunchPlanShape,
} from "./api";
import { when } from "./format";
import { Link } from "./Link";
import { useAllows } from "./roles";
import { executionPath, lineagePath, versionPath } from "./router";

/** The project and domain that a page lists (default/development to begin with). */
function Scope({ project, domain, onChange }: {
  project: string;
  domain: string;
  onChange: (project: string, domain: string) => void;
}) {
  const [p, setP] = useState(project);
  const [d, setD] = useState(domain);
  return (
    <form
      className="filters"
      onSubmit={(e) => {
        e.preventDefault();
        onChange(p.trim() || "default", d.trim() || "development");
      }}
    >
      <label>
        Project
        <input name="project" value={p} onChange={(e) => setP(e.target.value)} />
      </label>
      <label>
        Domain
        <input name="domain" value={d} onChange={(e) => setD(e.target.value)} />
      </label>
      <button type="submit">Show</button>
    </form>
  );
}

export function launchHref(name: string, project: string, domain: string): string {
  const q = new URLSearchParams({ name });
  if (project !== "default") q.set("project", project);
  if (domain !== "development") q.set("domain", domain);
  return `/launch?${q.toString()}`;
}

/** Every registered version of a project and domain, newest first; a workflow or a
 * launch plan links to its launch form. */
export function VersionsPage() {
  const [scope, setScope] = useState({ project: "default", domain: "development" });
  const versions = useQuery({
    queryKey: ["versions", scope.project, scope.domain],
    queryFn: () => listVersions(scope.project, scope.domain),
  });
  const mayLaunch = useAllows(scope.project, "launcher");
  return (
    <section aria-labelledby="versions-title">
      <h1 id="versions-title">Versions</h1>
      <Scope {...scope} onChange={(project, domain) => setScope({ project, domain })} />
      {versions.isError && <p role="alert">Could not list versions: {versions.error.message}</p>}
      {versions.data?.length === 0 && (
        <p>
          Nothing registered in {scope.project}/{scope.domain}: <code>rillet register FILE.py</code>.
        </p>
      )}
      {versions.data && versions.data.length > 0 && (
        <table className="executions" aria-label={`versions of ${scope.project}/${scope.domain}`}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Version</th>
              <th scope="col">Registered</th>
              <th scope="col">Launch</th>
            </tr>
          </thead>
          <tbody>
            {versions.data.map((v) => (
              <tr key={`${v.kind}:${v.name}@${v.version}`} data-version={`${v.name}@${v.version}`}>
                <td>{v.name}</td>
                <td>{v.kind}</td>
                <td>
                  <Link to={versionPath(v.version, v.project, v.domain)}>
                    <code>{v.version}</code>
                  </Link>
                </td>
                <td>{when(v.created_at)}</td>
                <td>
                  {v.kind !== "task" && mayLaunch && (
                    <Link to={launchHref(v.name, v.project, v.domain)}>Launch {v.name}</Link>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function scheduleText(schedule: LaunchPlanShape["schedule"]): string {
  if (!schedule) return "none";
  if (schedule.type === "FixedRate" && typeof schedule.seconds === "number") return `every ${schedule.seconds} s`;
  if (typeof schedule.schedule === "string") return `cron ${schedule.schedule}`;
  return JSON.stringify(schedule);
}

/** The launch plans of a project and domain: schedule, active state, next fire time;
 * a scheduled plan can be activated or deactivated (the server checks the role). */
export function LaunchPlansPage() {
  const [scope, setScope] = useState({ project: "default", domain: "development" });
  const client = useQueryClient();
  const plans = useQuery({
    queryKey: ["launchplans", scope.project, scope.domain],
    queryFn: () => listLaunchPlans(scope.project, scope.domain),
  });
  const toggle = useMutation({
    mutationFn: ({ plan, active }: { plan: LaunchPlanShape; active: boolean }) => setPlanActive(plan, active),
    onSettled: () => client.invalidateQueries({ queryKey: ["launchplans"] }),
  });
  const mayLaunch = useAllows(scope.project, "launcher");
  const mayActivate = useAllows(scope.project, "admin"); // the server's policy for activate
  return (
    <section aria-labelledby="plans-title">
      <h1 id="plans-title">Launch plans</h1>
      <Scope {...scope} onChange={(project, domain) => setScope({ project, domain })} />
      {plans.isError && <p role="alert">Could not list launch plans: {plans.error.message}</p>}
      {toggle.isError && <p role="alert">Refused: {toggle.error.message}</p>}
      {plans.data?.length === 0 && (
        <p>
          No launch plan in {scope.project}/{scope.domain}.
        </p>
      )}
      {plans.data && plans.data.length > 0 && (
        <table className="executions" aria-label={`launch plans of ${scope.project}/${scope.domain}`}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Workflow</th>
              <th scope="col">Version</th>
              <th scope="col">Schedule</th>
              <th scope="col">State</th>
              <th scope="col">Next fire</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {plans.data.map((p) => (
              <tr key={p.name} data-plan={p.name} data-active={String(p.active)}>
                <td>{p.name}</td>
                <td>{p.workflow ?? "–"}</td>
                <td>
                  <code>{p.version}</code>
                </td>
                <td>{scheduleText(p.schedule)}</td>
                <td>{p.active ? "active" : "inactive"}</td>
                <td data-next={p.next_fire_at ?? ""}>{when(p.next_fire_at)}</td>
                <td className="actions">
                  {p.schedule && mayActivate && (
                    <button
                      type="button"
                      disabled={toggle.isPending}
                      onClick={() => toggle.mutate({ plan: p, active: !p.active })}
                    >
                      {p.active ? "Deactivate" : "Activate"} {p.name}
                    </button>
                  )}{" "}
                  {mayLaunch && <Link to={launchHref(p.name, p.project, p.domain)}>Launch {p.name}</Link>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Move an alias of a model to one of its versions (an editor's write; the server's
 * refusal is said in one line). The history below shows the move. */
function AliasForm({ name, versions, aliases }: { name: string; versions: number[]; aliases: string[] }) {
  const client = useQueryClient();
  const [alias, setAlias] = useState(aliases[0] ?? "");
  const [version, setVersion] = useState(String(versions[0] ?? ""));
  const move = useMutation({
    mutationFn: () => moveAlias(name, alias.trim(), Number(version)),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["model", name] });
      void client.invalidateQueries({ queryKey: ["models"] });
    },
  });
  const bad = alias.trim() === "" ? "an alias needs a name" : null;
  return (
    <form
      className="alias-form"
      aria-label={`move an alias of ${name}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (bad === null) move.mutate();
      }}
    >
      <label>
        Alias <input name="alias" list={`aliases-${name}`} value={alias} onChange={(e) => setAlias(e.target.value)} />
      </label>
      <datalist id={`aliases-${name}`}>
        {aliases.map((a) => (
          <option key={a} value={a} />
        ))}
      </datalist>{" "}
      <label>
        to version{" "}
        <select name="version" value={version} onChange={(e) => setVersion(e.target.value)}>
          {versions.map((v) => (
            <option key={v} value={String(v)}>
              {v}
            </option>
          ))}
        </select>
      </label>{" "}
      <button type="submit" disabled={move.isPending || bad !== null}>
        Move alias
      </button>
      {move.isError && <span role="alert"> Could not move it: {move.error.message}</span>}
      {move.isSuccess && <span className="muted"> {alias.trim()} → {version}</span>}
    </form>
  );
}

function ModelDetailView({ name }: { name: string }) {
  const model = useQuery({ queryKey: ["model", name], queryFn: () => getModel(name) });
  const mayEdit = useAllows("default", "editor");
  if (model.isError) return <p role="alert">Could not read model {name}: {model.error.message}</p>;
  if (!model.data) return <p>Loading {name}…</p>;
  const aliases = [...new Set(model.data.versions.flatMap((v) => v.aliases))].sort();
  return (
    <section aria-labelledby="model-title" className="model-detail">
      <h2 id="model-title">Model {name}</h2>
      <table className="executions" aria-label={`versions of ${name}`}>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Aliases</th>
            <th scope="col">From</th>
            <th scope="col">Registered</th>
          </tr>
        </thead>
        <tbody>
          {model.data.versions.map((v) => (
            <tr key={v.version} data-model-version={v.version}>
              <td>{v.version}</td>
              <td>{v.aliases.join(", ") || "–"}</td>
              <td>
                <Link to={executionPath(v.execution_id)}>{v.execution_id}</Link> {v.node_id}.
                {v.output} · <Link to={lineagePath(v.hash)}>{`lineage of version ${v.version}`}</Link>
              </td>
              <td>
                {when(v.created_at)} by {v.created_by}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {mayEdit && model.data.versions.length > 0 && (
        <AliasForm name={name} versions={model.data.versions.map((v) => v.version)} aliases={aliases} />
      )}
      <h3>History</h3>
      <ol className="model-history">
        {model.data.history.map((h, i) => (
          <li key={i} data-event={h.event}>
            {when(h.at)} {h.who}: {h.event}
            {h.alias !== null && ` ${h.alias}`}
            {h.version !== null && ` → ${h.version}`}
            {h.previous !== null && ` (was ${h.previous})`}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** The model registry: every model with its latest version and aliases; one picked
 * shows its versions (with the execution each came from) and its history. */
export function ModelsPage() {
  const models = useQuery({ queryKey: ["models"], queryFn: listModels });
  const [picked, setPicked] = useState<string | null>(null);
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Models</h1>
      {models.isError && <p role="alert">Could not list models: {models.error.message}</p>}
      {models.data?.length === 0 && <p>No model registered yet.</p>}
      {models.data && models.data.length > 0 && (
        <table className="executions" aria-label="models">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Latest</th>
              <th scope="col">Versions</th>
              <th scope="col">Aliases</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {models.data.map((m) => (
              <tr key={m.name} data-model={m.name}>
                <td>
                  <button type="button" className="linkish" onClick={() => setPicked(m.name)}>
                    {m.name}
                  </button>
                </td>
                <td>{m.latest}</td>
                <td>{m.versions}</td>
                <td>
                  {Object.entries(m.aliases)
                    .map(([alias, v]) => `${alias} → ${v}`)
                    .join(", ") || "–"}
                </td>
                <td>{when(m.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {picked !== null && <ModelDetailView key={picked} name={picked} />}
    </section>
  );
}
