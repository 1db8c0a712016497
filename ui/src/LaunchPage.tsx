import { useMemo, useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { getExecution, launch, listVersions, type ExecutionDetail, type RegisteredEntity } from "./api";
import { collect, fieldsOf, prefilled } from "./form";
import { FieldLabel, Fields, Input } from "./FormFields";
import { useAllows } from "./roles";
import { executionPath, navigate } from "./router";

function latestPerName(entities: RegisteredEntity[]): RegisteredEntity[] {
  const latest = new Map<string, RegisteredEntity>();
  for (const e of entities) {
    if (e.kind === "task") continue;
    const seen = latest.get(e.name);
    if (!seen || e.created_at > seen.created_at) latest.set(e.name, e);
  }
  return [...latest.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The registered entity to relaunch ``e`` with: a workflow of the same identity, the
 * version whose bundle ran it if still registered, else the newest. */
export function entityFor(entities: RegisteredEntity[], e: ExecutionDetail): RegisteredEntity | undefined {
  const same = entities
    .filter((x) => x.kind !== "task" && x.identity === e.workflow)
    .sort((a, b) => Number(b.kind === "workflow") - Number(a.kind === "workflow") || b.created_at - a.created_at);
  return same.find((x) => x.bundle_hash !== undefined && e.source === `bundle:${x.bundle_hash}`) ?? same[0];
}

function LaunchForm({ entity, values }: { entity: RegisteredEntity; values?: Record<string, unknown> }) {
  const fields = useMemo(
    () => fieldsOf(entity.interface.inputs, entity.interface.defaults, entity.interface.fixed ?? {}),
    [entity],
  );
  const [texts, setTexts] = useState<Record<string, string>>(() => prefilled(fields, values ?? {}));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [uploading, setUploading] = useState<Set<string>>(() => new Set());
  const mayLaunch = useAllows(entity.project, "launcher");
  const submit = useMutation({
    mutationFn: launch,
    onSuccess: (e) => navigate(executionPath(e.execution_id)),
  });
  return (
    <form
      className="launch"
      aria-label={`launch ${entity.name}`}
      noValidate
      onSubmit={(ev) => {
        ev.preventDefault();
        if (!mayLaunch) return;
        const got = collect(fields, texts);
        if (!got.ok) {
          setErrors(got.errors);
          return;
        }
        setErrors({});
        submit.mutate({
          name: entity.name,
          version: entity.version,
          project: entity.project,
          domain: entity.domain,
          inputs: got.inputs,
        });
      }}
    >
      <p className="muted">
        {entity.kind} {entity.name} · version {entity.version} · {entity.project}/{entity.domain}
      </p>
      {fields.length === 0 && <p className="muted">No inputs.</p>}
      {fields.map((f) =>
        f.widget === "fields" ? (
          <Fields
            key={f.name}
            field={f}
            texts={texts}
            errors={errors}
            onChange={(name, t) => setTexts((now) => ({ ...now, [name]: t }))}
          />
        ) : (
        <div className="field" key={f.name}>
          <FieldLabel field={f} text={f.name} />
          <Input
            field={f}
            text={texts[f.name] ?? ""}
            project={entity.project}
            onChange={(t) => setTexts((now) => ({ ...now, [f.name]: t }))}
            onBusy={(busy) =>
              setUploading((now) => {
                const next = new Set(now);
                if (busy) next.add(f.name);
                else next.delete(f.name);
                return next;
              })
            }
          />
          <span id={`input-${f.name}-error`} className="field-error" role={errors[f.name] ? "alert" : undefined}>
            {errors[f.name] ?? ""}
          </span>
        </div>
        ),
      )}
      {submit.isError && <p role="alert">Launch refused: {submit.error.message}</p>}
      {mayLaunch ? (
        <button type="submit" disabled={submit.isPending || uploading.size > 0}>
          Launch
        </button>
      ) : (
        <p className="muted" data-refused="launch">
          Your token may not launch in {entity.project} (it needs the role launcher).
        </p>
      )}
    </form>
  );
}

/** Pick a registered workflow or launch plan; its form comes from its type descriptors.
 * With ``from`` (an execution id), the form is that execution's workflow with its inputs
 * prefilled (a relaunch). */
export function LaunchPage({
  from = null,
  name: initial = null,
  project = "default",
  domain = "development",
}: {
  from?: string | null;
  name?: string | null;
  project?: string;
  domain?: string;
}) {
  const versions = useQuery({ queryKey: ["versions", project, domain], queryFn: () => listVersions(project, domain) });
  const earlier = useQuery({
    queryKey: ["execution", from],
    queryFn: () => getExecution(from ?? ""),
    enabled: from !== null,
  });
  const [name, setName] = useState(initial ?? "");
  const entities = latestPerName(versions.data ?? []);
  const relaunched = earlier.data && versions.data ? entityFor(versions.data, earlier.data) : undefined;
  const chosen = name === "" && relaunched ? relaunched : entities.find((e) => e.name === name);
  if (from !== null && (earlier.isPending || versions.isPending) && !earlier.isError && !versions.isError)
    return <p>Loading {from}…</p>;
  return (
    <section aria-labelledby="launch-title">
      <h1 id="launch-title">{from !== null ? `Relaunch ${from}` : "Launch"}</h1>
      {versions.isError && <p role="alert">Could not list versions: {versions.error.message}</p>}
      {earlier.isError && <p role="alert">Could not read {from}: {earlier.error.message}</p>}
      {earlier.data && versions.data && !relaunched && (
        <p role="alert">
          {earlier.data.workflow} is not registered in {project}/{domain}: it cannot be relaunched from here.
        </p>
      )}
      {versions.data && entities.length === 0 && (
        <p>
          Nothing registered in {project}/{domain} yet: <code>rillet register FILE.py</code>.
        </p>
      )}
      {entities.length > 0 && (
        <label className="pick">
          Workflow
          <select name="workflow" value={chosen?.name ?? name} onChange={(e) => setName(e.target.value)}>
            <option value="">choose…</option>
            {entities.map((e) => (
              <option key={e.name} value={e.name}>
                {e.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {chosen && chosen === relaunched && (
        <p className="muted" data-relaunch={from}>
          The inputs of {from}, prefilled.
        </p>
      )}
      {chosen && (
        <LaunchForm
          key={`${chosen.name}@${chosen.version}@${chosen === relaunched ? (from ?? "") : ""}`}
          entity={chosen}
          values={chosen === relaunched ? earlier.data?.input_values : undefined}
        />
      )}
    </section>
  );
}
