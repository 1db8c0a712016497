// The launch form's widgets, one per field kind (src/form.ts chooses the kind): text
// and number inputs, checkboxes, selects, uploads (File and Directory), a list of
// scalars as one row per item, a dataclass as a fieldset of these (nested), and the
// checked JSON editor for the rest. They show and edit texts; form.ts parses them.
import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { uploadDirectory, uploadFile, type UploadShape } from "./api";
import { itemField, listItems, UPLOADED, type Field } from "./form";
import { fieldLines, skeleton } from "./nested";
import { archiveFormat, folderEntries, tarParts } from "./tar";

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
export function Fields({
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
      {(field.subfields ?? []).map((f) =>
        f.widget === "fields" ? (
          <Fields key={f.name} field={f} texts={texts} errors={errors} onChange={onChange} />
        ) : (
          <div className="field" key={f.name}>
            <FieldLabel field={f} text={f.name.slice(field.name.length + 1)} />
            <Input field={f} text={texts[f.name] ?? f.initial} onChange={(t) => onChange(f.name, t)} />
            <span id={`input-${f.name}-error`} className="field-error" role={errors[f.name] ? "alert" : undefined}>
              {errors[f.name] ?? ""}
            </span>
          </div>
        ),
      )}
    </fieldset>
  );
}

/** A field's name and type: the label of its input (a list's rows are labelled each). */
export function FieldLabel({ field, text }: { field: Field; text: string }) {
  const kind = field.widget === "list" ? `${field.descriptor.kind}[${field.item?.descriptor.kind ?? ""}]` : field.descriptor.kind;
  const shown = (
    <>
      {text} <span className="muted">{field.optional ? `${kind} | None` : kind}</span>
    </>
  );
  if (field.widget === "list")
    return (
      <span className="label" id={`input-${field.name}-label`}>
        {shown}
      </span>
    );
  return <label htmlFor={`input-${field.name}`}>{shown}</label>;
}

/** A list of scalars: one row per item (its own widget, checked as ``name[i]``), with
 * a button to remove it, and one to add an item. Its text is the items' texts as JSON. */
function ListInput({ field, text, onChange }: { field: Field; text: string; onChange: (t: string) => void }) {
  const items = listItems(text);
  const set = (next: string[]) => onChange(JSON.stringify(next));
  const blank = field.item?.widget === "bool" ? "false" : field.item?.widget === "enum" ? JSON.stringify(field.item.choices[0] ?? "") : "";
  return (
    <div
      className="list-input"
      role="group"
      id={`input-${field.name}`}
      aria-labelledby={`input-${field.name}-label`}
      aria-describedby={`input-${field.name}-error`}
      data-items={items.length}
    >
      {items.length === 0 && <span className="muted">no items</span>}
      {items.map((t, i) => {
        const item = itemField(field, i);
        return (
          <div className="list-item" key={i}>
            <span className="muted">{i}</span>
            <Input
              field={item}
              text={t}
              label={`${field.name} item ${i}`}
              onChange={(v) => set(items.map((x, j) => (j === i ? v : x)))}
            />
            <button type="button" className="linkish" onClick={() => set(items.filter((_, j) => j !== i))}>
              Remove item {i} of {field.name}
            </button>
          </div>
        );
      })}
      <button type="button" onClick={() => set([...items, blank])}>
        Add an item to {field.name}
      </button>
    </div>
  );
}

export function Input({
  field,
  text,
  onChange,
  project = "default",
  onBusy = () => undefined,
  label,
}: {
  field: Field;
  text: string;
  onChange: (t: string) => void;
  project?: string;
  onBusy?: (busy: boolean) => void;
  /** its accessible name when no <label> names it (a list's item) */
  label?: string;
}) {
  const id = `input-${field.name}`;
  // a list's item has no error line of its own: its list's names the faulty item
  const common = { id, name: field.name, "aria-describedby": label ? undefined : `${id}-error`, "aria-label": label };
  switch (field.widget) {
    case "list":
      return <ListInput field={field} text={text} onChange={onChange} />;
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

