import { useMemo, useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import {
  getExecution,
  launch,
  listVersions,
  uploadDirectory,
  uploadFile,
  type ExecutionDetail,
  type RegisteredEntity,
  type UploadShape,
} from "./api";
import { archiveFormat, folderEntries, tarParts } from "./tar";
import { collect, fieldsOf, prefilled, UPLOADED, type Field } from "./form";
import { fieldLines, skeleton } from "./nested";
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

/** What the chooser of a File or Directory input sends: the body, the name, and for
 * a Directory the archive's format (a folder is packed as a tar here). */
type Upload = { body: Blob; name: string; format?: "tar" | "tgz" | "zip" };

/** The upload of a Directory input's chooser: a folder (packed as a tar) or an archive
 * (sent as it is); an Error for a file that is neither. */
function directoryUpload(files: FileList, folder: boolean): Upload {
  if (folder) {
    const { name, entries } = folderEntries(files);
    if (entries.length === 0) throw new Error("the folder is empty");
    return { body: new Blob(tarParts(entries) as BlobPart[]), name, format: "tar" };
  }
  const file = files[0] as globalThis.File;
  const archive = archiveFormat(file.name);
  if (!archive) throw new Error(`'${file.name}' is not a .zip, .tar, .tar.gz or .tgz archive`);
  return { body: file, name: archive.name, format: archive.format };
}

/** A File or Directory input: a file (or a folder, or an archive of one) chosen here
 * is uploaded at once (POST /uploads or /uploads/directory, streamed) and the input
 * becomes its ``artifact:<hash>``; or a path or URL the worker can read. */
function FileInput({
  field,
  text,
  project,
  onChange,
  onBusy,
}: {
  field: Field;
  text: string;
  project: string;
  onChange: (t: string) => void;
  onBusy: (busy: boolean) => void;
}) {
  const id = `input-${field.name}`;
  const directory = field.descriptor.kind === "directory";
  const what = directory ? "directory" : "file";
  const [uploaded, setUploaded] = useState<UploadShape | null>(null);
  const [refused, setRefused] = useState<string | null>(null); // before any request
  const upload = useMutation({
    mutationFn: (u: Upload) =>
      u.format ? uploadDirectory(u.body, u.name, u.format, project) : uploadFile(u.body as globalThis.File, project),
    onMutate: () => onBusy(true),
    onSettled: () => onBusy(false),
    onSuccess: (u) => {
      setUploaded(u);
      onChange(u.ref);
    },
  });
  const choose = (files: FileList | null, folder: boolean) => {
    if (!files || files.length === 0) return;
    if (!directory) {
      const file = files[0] as globalThis.File;
      upload.mutate({ body: file, name: file.name });
      return;
    }
    try {
      upload.mutate(directoryUpload(files, folder));
    } catch (e) {
      upload.reset();
      setRefused(e instanceof Error ? e.message : String(e));
      return;
    }
    setRefused(null);
  };
  const stored = text.startsWith(UPLOADED);
  return (
    <>
      {directory ? (
        <>
          <input
            id={`${id}-upload`}
            type="file"
            multiple
            {...{ webkitdirectory: "" }}
            aria-label={`upload a folder for ${field.name}`}
            onChange={(e) => choose(e.target.files, true)}
          />
          <input
            id={`${id}-archive`}
            type="file"
            accept=".zip,.tar,.tar.gz,.tgz"
            aria-label={`upload an archive (zip, tar, tar.gz) for ${field.name}`}
            onChange={(e) => choose(e.target.files, false)}
          />
        </>
      ) : (
        <input
          id={`${id}-upload`}
          type="file"
          aria-label={`upload a file for ${field.name}`}
          onChange={(e) => choose(e.target.files, false)}
        />
      )}
      <input
        id={id}
        name={field.name}
        type="text"
        aria-describedby={`${id}-error ${id}-upload-state`}
        placeholder="or a path or URL the worker can read"
        value={text}
        onChange={(e) => {
          setUploaded(null);
          onChange(e.target.value);
        }}
      />
      <span id={`${id}-upload-state`} className="muted" data-upload={upload.isPending ? "pending" : stored ? "stored" : "none"}>
        {upload.isPending && "uploading…"}
        {upload.isError && <span role="alert">Upload refused: {upload.error.message}</span>}
        {refused && <span role="alert">Upload refused: {refused}</span>}
        {!upload.isPending && stored && uploaded && uploaded.ref === text
          ? `${uploaded.name} uploaded: ${uploaded.size} bytes, sha256 ${uploaded.hash.slice(0, 12)}`
          : !upload.isPending && stored
            ? `a stored ${what}, sha256 ${text.slice(UPLOADED.length, UPLOADED.length + 12)}`
            : ""}
      </span>
    </>
  );
}

/** A dataclass of scalars: one widget per field, in a fieldset named by the input. */
function Fields({
  field,
  texts,
  errors,
  onChange,
}: {
  field: Field;
  texts: Record<string, string>;
  errors: Record<string, string>;
  onChange: (name: string, t: string) => void;
}) {
  return (
    <fieldset className="nested" aria-label={field.name}>
      <legend>
        {field.name} <span className="muted">{String(field.descriptor.name ?? field.descriptor.kind).split(".").pop()}</span>
      </legend>
      {(field.subfields ?? []).map((f) => (
        <div className="field" key={f.name}>
          <label htmlFor={`input-${f.name}`}>
            {f.name.slice(field.name.length + 1)}{" "}
            <span className="muted">{f.optional ? `${f.descriptor.kind} | None` : f.descriptor.kind}</span>
          </label>
          <Input field={f} text={texts[f.name] ?? ""} onChange={(t) => onChange(f.name, t)} />
          <span id={`input-${f.name}-error`} className="field-error" role={errors[f.name] ? "alert" : undefined}>
            {errors[f.name] ?? ""}
          </span>
        </div>
      ))}
    </fieldset>
  );
}

function Input({
  field,
  text,
  onChange,
  project = "default",
  onBusy = () => undefined,
}: {
  field: Field;
  text: string;
  onChange: (t: string) => void;
  project?: string;
  onBusy?: (busy: boolean) => void;
}) {
  const id = `input-${field.name}`;
  const common = { id, name: field.name, "aria-describedby": `${id}-error` };
  switch (field.widget) {
    case "file":
      return <FileInput field={field} text={text} project={project} onChange={onChange} onBusy={onBusy} />;
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
    case "json": {
      // A dataclass or pydantic model: a JSON editor whose placeholder has its fields,
      // listed under it with their types; checked against the interface on launch.
      const nested = fieldLines(field.descriptor);
      const shape = JSON.stringify(skeleton(field.descriptor), null, 1);
      return (
        <>
          <textarea
            {...common}
            rows={nested.length > 0 ? Math.min(12, nested.length + 2) : 3}
            value={text}
            placeholder={nested.length > 0 ? shape : undefined}
            spellCheck={false}
            onChange={(e) => onChange(e.target.value)}
          />
          {nested.length > 0 && (
            <>
              <ul className="nested-fields" aria-label={`fields of ${field.name}`}>
                {nested.map((line) => (
                  <li key={line}>
                    <code>{line}</code>
                  </li>
                ))}
              </ul>
              {text.trim() === "" && (
                <button type="button" className="linkish" onClick={() => onChange(shape)}>
                  Fill in the fields of {field.name}
                </button>
              )}
            </>
          )}
        </>
      );
    }
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
          <label htmlFor={`input-${f.name}`}>
            {f.name} <span className="muted">{f.optional ? `${f.descriptor.kind} | None` : f.descriptor.kind}</span>
          </label>
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
