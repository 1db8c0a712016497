import { useMemo, useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { launch, listVersions, type RegisteredEntity } from "./api";
import { collect, fieldsOf, type Field } from "./form";
import { navigate } from "./router";

function latestPerName(entities: RegisteredEntity[]): RegisteredEntity[] {
  const latest = new Map<string, RegisteredEntity>();
  for (const e of entities) {
    if (e.kind === "task") continue;
    const seen = latest.get(e.name);
    if (!seen || e.created_at > seen.created_at) latest.set(e.name, e);
  }
  return [...latest.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function Input({ field, text, onChange }: { field: Field; text: string; onChange: (t: string) => void }) {
  const id = `input-${field.name}`;
  const common = { id, name: field.name, "aria-describedby": `${id}-error` };
  switch (field.widget) {
    case "bool":
      return (
        <input {...common} type="checkbox" checked={text === "true"} onChange={(e) => onChange(String(e.target.checked))} />
      );
    case "enum":
      return (
        <select {...common} value={text} onChange={(e) => onChange(e.target.value)}>
          {(!field.hasDefault || field.optional) && <option value="">{field.optional ? "none" : "choose…"}</option>}
          {field.choices.map((c) => (
            <option key={JSON.stringify(c)} value={JSON.stringify(c)}>
              {String(c)}
            </option>
          ))}
        </select>
      );
    case "json":
      return <textarea {...common} rows={3} value={text} onChange={(e) => onChange(e.target.value)} />;
    default:
      return (
        <input
          {...common}
          type="text"
          inputMode={field.widget === "str" ? "text" : "decimal"}
          value={text}
          onChange={(e) => onChange(e.target.value)}
        />
      );
  }
}

function LaunchForm({ entity }: { entity: RegisteredEntity }) {
  const fields = useMemo(
    () => fieldsOf(entity.interface.inputs, entity.interface.defaults, entity.interface.fixed ?? {}),
    [entity],
  );
  const [texts, setTexts] = useState<Record<string, string>>(() =>
    Object.fromEntries(fields.map((f) => [f.name, f.initial])),
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const submit = useMutation({
    mutationFn: launch,
    onSuccess: (e) => navigate(`/executions/${encodeURIComponent(e.execution_id)}`),
  });
  return (
    <form
      className="launch"
      aria-label={`launch ${entity.name}`}
      noValidate
      onSubmit={(ev) => {
        ev.preventDefault();
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
      {fields.map((f) => (
        <div className="field" key={f.name}>
          <label htmlFor={`input-${f.name}`}>
            {f.name} <span className="muted">{f.optional ? `${f.descriptor.kind} | None` : f.descriptor.kind}</span>
          </label>
          <Input field={f} text={texts[f.name] ?? ""} onChange={(t) => setTexts({ ...texts, [f.name]: t })} />
          <span id={`input-${f.name}-error`} className="field-error" role={errors[f.name] ? "alert" : undefined}>
            {errors[f.name] ?? ""}
          </span>
        </div>
      ))}
      {submit.isError && <p role="alert">Launch refused: {submit.error.message}</p>}
      <button type="submit" disabled={submit.isPending}>
        Launch
      </button>
    </form>
  );
}

/** Pick a registered workflow or launch plan; its form comes from its type descriptors. */
export function LaunchPage() {
  const versions = useQuery({ queryKey: ["versions"], queryFn: () => listVersions() });
  const [name, setName] = useState("");
  const entities = latestPerName(versions.data ?? []);
  const chosen = entities.find((e) => e.name === name);
  return (
    <section aria-labelledby="launch-title">
      <h1 id="launch-title">Launch</h1>
      {versions.isError && <p role="alert">Could not list versions: {versions.error.message}</p>}
      {versions.data && entities.length === 0 && (
        <p>Nothing registered in default/development yet: <code>rillet register FILE.py</code>.</p>
      )}
      {entities.length > 0 && (
        <label className="pick">
          Workflow
          <select name="workflow" value={name} onChange={(e) => setName(e.target.value)}>
            <option value="">choose…</option>
            {entities.map((e) => (
              <option key={e.name} value={e.name}>
                {e.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {chosen && <LaunchForm key={`${chosen.name}@${chosen.version}`} entity={chosen} />}
    </section>
  );
}
