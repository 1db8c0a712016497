// The server's REST API (rillet/services/_shapes.py mirrors these shapes).
import { authHeaders, tokenRefused } from "./auth";
import type { LineageShape } from "./lineage";

export interface ExecutionSummary {
  execution_id: string;
  workflow: string;
  status: string;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  parent_id: string | null;
  error: string | null;
}

export interface NodeShape {
  node_id: string;
  task: string;
  kind: string;
  status: string;
  attempts: number;
  started_at: number | null;
  ended_at: number | null;
  duration: number | null;
  cache_key: string | null;
  source_execution: string | null;
  source_node: string | null;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  error: string | null;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>[];
}

export interface ExecutionDetail {
  execution_id: string;
  workflow: string;
  source: string;
  status: string;
  parent_id: string | null;
  error: string | null;
  inputs: Record<string, string>;
  outputs: Record<string, string> | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  nodes: NodeShape[];
  /** Each input as JSON when kept inline, else a record: {type, hash, size, uri, format, pickled}. */
  input_values?: Record<string, unknown>;
  /** Where it runs (the scope a token's role is checked in). */
  project?: string;
  domain?: string;
  /** Set by the page (live.ts applyEvent) on a detail an event changed, never by the
   * server: a status from the stream, the rest not refetched yet. */
  patched?: boolean;
}

/** An execution's whole DAG from its compiled IR (nodes not started included);
 * ``planned`` is false when no IR is kept for it. */
export interface ExecutionGraph {
  execution_id: string;
  planned: boolean;
  source: string | null;
  nodes: { node_id: string; kind: string; task: string }[];
  edges: { source: string; target: string }[];
}

export interface AttemptLogs {
  execution_id: string;
  node_id: string;
  attempt: number;
  status: string;
  logs: string;
  traceback: string | null;
}

export interface ArtifactShape {
  hash: string;
  format: string;
  type: Record<string, unknown>;
  size: number;
  uri: string | null;
  inline: unknown;
  created_at: number;
  purged: boolean;
}

export interface EventShape {
  seq: number;
  execution_id: string;
  node_id: string;
  kind: string;
  status: string;
  at: number;
  data: Record<string, unknown>;
}

export const EXECUTION_STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "ABORTED"];
const ENDED = new Set(["SUCCEEDED", "FAILED", "ABORTED"]);

export function ended(status: string): boolean {
  return ENDED.has(status);
}

/** A 4xx/5xx answer: the server's `{"error": "..."}` line and the HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export const API = "/api/v1";

/** The error of a 4xx/5xx answer: its JSON ``error`` line (else the status line). A
 * 401 asks for a token (auth.ts); a 403 says it is a refusal of the token's role. */
export async function answerError(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: unknown };
    if (typeof body.error === "string") message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401) tokenRefused(message);
  if (response.status === 403) message = `not allowed (403): ${message}`;
  return new ApiError(response.status, message);
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const headers = { ...authHeaders(), ...(init?.headers as Record<string, string> | undefined) };
  const response = await fetch(`${API}${path}`, { ...init, headers });
  if (!response.ok) throw await answerError(response);
  return (await response.json()) as T;
}

export interface ExecutionFilters {
  workflow?: string;
  status?: string;
  project?: string;
  domain?: string;
  since?: number; // epoch seconds: created_at >= since
  until?: number; // created_at < until
  limit?: number;
  before?: number; // the created_at of the previous page's last row
}

export const PAGE = 100;

export function listExecutions(filters: ExecutionFilters): Promise<ExecutionSummary[]> {
  const query = new URLSearchParams();
  for (const key of ["workflow", "status", "project", "domain"] as const) {
    const value = filters[key];
    if (value) query.set(key, value);
  }
  query.set("limit", String(filters.limit ?? PAGE));
  for (const key of ["since", "until", "before"] as const) {
    const value = filters[key];
    if (value !== undefined) query.set(key, String(value));
  }
  return call(`/executions?${query.toString()}`);
}

export function getExecution(id: string): Promise<ExecutionDetail> {
  return call(`/executions/${encodeURIComponent(id)}`);
}

/** An execution as the compare page reads it (GET /compare): every metric of a node as
 * two columns, its points' steps (null: not given) and values. */
export interface ComparedExecution {
  execution_id: string;
  workflow: string;
  status: string;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  inputs: Record<string, string>;
  input_values: Record<string, unknown>;
  params: Record<string, Record<string, unknown>>;
  metrics: Record<string, Record<string, MetricColumns>>;
}

/** One metric of a node: its points' steps (null: not given) and values, in logging order. */
export interface MetricColumns {
  steps: (number | null)[];
  values: number[];
}

/** Executions side by side in one request (in the order given). */
export function getCompared(ids: string[]): Promise<ComparedExecution[]> {
  return call(`/compare?ids=${ids.map(encodeURIComponent).join(",")}`);
}

/** A compared execution as the detail the compare rows read: a node per node id that has
 * params or metrics, each metric as its final point (the last of its highest step). */
export function comparedDetail(c: ComparedExecution): ExecutionDetail {
  const ids = [...new Set([...Object.keys(c.params), ...Object.keys(c.metrics)])];
  return {
    execution_id: c.execution_id, workflow: c.workflow, source: "", status: c.status, parent_id: null, error: null,
    inputs: c.inputs, outputs: null, created_at: c.created_at, started_at: c.started_at, ended_at: c.ended_at,
    input_values: c.input_values,
    nodes: ids.map((node_id) => ({
      node_id, task: "", kind: "task", status: "", attempts: 0, started_at: null, ended_at: null, duration: null,
      cache_key: null, source_execution: null, source_node: null, inputs: {}, outputs: {}, error: null,
      params: c.params[node_id] ?? {},
      metrics: Object.entries(c.metrics[node_id] ?? {}).map(([key, { steps, values }]) => {
        let last = 0;
        steps.forEach((s, i) => {
          if ((s ?? i) >= (steps[last] ?? last)) last = i;
        });
        return { key, value: values[last], step: steps[last] ?? last };
      }),
    })),
  };
}

export function getExecutionGraph(id: string): Promise<ExecutionGraph> {
  return call<ExecutionGraph>(`/executions/${encodeURIComponent(id)}/graph`);
}

export function abortExecution(id: string): Promise<ExecutionSummary> {
  return call(`/executions/${encodeURIComponent(id)}/abort`, { method: "POST" });
}

/** Start a recovery: a new execution reusing what this one finished; the nodes named
 * in ``fromNodes`` (and everything downstream of them) run again. */
export function recoverExecution(id: string, fromNodes: string[] = []): Promise<ExecutionSummary> {
  return call(`/executions/${encodeURIComponent(id)}/recover`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ from_nodes: fromNodes }),
  });
}

export function nodeLogs(id: string, node: string, attempt: number): Promise<AttemptLogs> {
  return call(
    `/executions/${encodeURIComponent(id)}/nodes/${encodeURIComponent(node)}/logs?attempt=${attempt}`,
  );
}

/** An element of a map node (rillet/services/_elements.py). */
export interface MapElementShape {
  map_index: number;
  status: string;
  attempt: number | null;
  value: unknown;
  error: string | null;
  traceback: string | null;
  logs: string;
}

export function mapElements(id: string, node: string): Promise<MapElementShape[]> {
  return call(`/executions/${encodeURIComponent(id)}/nodes/${encodeURIComponent(node)}/elements`);
}

/** Who the token is (GET /whoami): an open server answers admin, auth false. */
export interface WhoAmI {
  user: string;
  auth: boolean;
  admin: boolean;
  roles: Record<string, string>;
}

export function whoAmI(): Promise<WhoAmI> {
  return call("/whoami");
}

/** A stored DataFrame's schema and first rows (GET /artifacts/{hash}/preview). */
export interface PreviewShape {
  hash: string;
  type: string;
  size: number;
  /** dataframe | ndarray | json | csv (a table) | text (its first lines in ``text``) */
  kind: "dataframe" | "ndarray" | "json" | "csv" | "text" | "none";
  shape?: number[] | null;
  text?: string | null;
  /** kind none: why this value's content cannot be shown */
  reason?: string | null;
  num_rows: number;
  num_columns: number;
  columns: { name: string; type: string; nullable: boolean }[];
  rows: Record<string, unknown>[];
  truncated: boolean;
}

export function previewArtifact(hash: string, rows = 20): Promise<PreviewShape> {
  return call(`/artifacts/${encodeURIComponent(hash)}/preview?rows=${rows}`);
}

export function downloadUrl(hash: string): string {
  return `${API}/artifacts/${encodeURIComponent(hash)}/download`;
}

export function logsDownloadUrl(id: string, node: string, attempt: number): string {
  return `${API}/executions/${encodeURIComponent(id)}/nodes/${encodeURIComponent(node)}/logs/download?attempt=${attempt}`;
}

/** Save what ``url`` (an API path) answers as a file: fetched with the token (a plain
 * link could not send it), then handed to the browser under the server's file name. */
export async function saveDownload(url: string, fallbackName: string): Promise<string> {
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) throw await answerError(response);
  const disposition = response.headers.get("content-disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const href = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
  return name;
}

export function getArtifact(hash: string): Promise<ArtifactShape> {
  return call(`/artifacts/${encodeURIComponent(hash)}`);
}

/** The lineage trees of REF (an execution id, EXEC:NODE or an artifact hash prefix). */
export function getLineage(ref: string, direction: "upstream" | "downstream"): Promise<LineageShape> {
  return call(`/lineage/${encodeURIComponent(ref)}?direction=${direction}`);
}

export function eventsUrl(id: string): string {
  return `${API}/executions/${encodeURIComponent(id)}/events`;
}

/** A running attempt's output as server-sent events, from byte ``offset`` of the
 * execution's log file on: ``log`` events ({text, offset}), then one ``end``. */
export function logStreamUrl(id: string, node: string, attempt: number, offset = 0): string {
  return `${API}/executions/${encodeURIComponent(id)}/nodes/${encodeURIComponent(node)}/logs/stream?attempt=${attempt}&offset=${offset}`;
}

/** A JSON type descriptor (rillet/types/_descriptor.py): {"kind": "int"}, {"kind":
 * "list", "item": {...}}, {"kind": "enum", "values": [...]}, ... */
export interface Descriptor {
  kind: string;
  [part: string]: unknown;
}

export interface RegisteredEntity {
  name: string;
  kind: string;
  version: string;
  project: string;
  domain: string;
  created_at: number;
  identity?: string; // module:qualname of the workflow, as executions record it
  bundle_hash?: string;
  interface: {
    inputs: Record<string, Descriptor>;
    defaults: Record<string, unknown>;
    fixed?: Record<string, unknown>;
  };
}

export function listVersions(project = "default", domain = "development"): Promise<RegisteredEntity[]> {
  const query = new URLSearchParams({ project, domain });
  return call(`/versions?${query.toString()}`);
}

/** A registered version's code bundle (GET /versions/{version}/files). */
export interface VersionFiles {
  project: string;
  domain: string;
  version: string;
  bundle_hash: string;
  created_at: number;
  entities: { name: string; kind: string }[];
  files: { path: string; size: number }[];
}

export function versionFiles(version: string, project: string, domain: string): Promise<VersionFiles> {
  const query = new URLSearchParams({ project, domain });
  return call(`/versions/${encodeURIComponent(version)}/files?${query.toString()}`);
}

export function versionFile(
  version: string,
  path: string,
  project: string,
  domain: string,
): Promise<{ path: string; size: number; text: string }> {
  const query = new URLSearchParams({ path, project, domain });
  return call(`/versions/${encodeURIComponent(version)}/file?${query.toString()}`);
}

export interface LaunchRequest {
  name: string;
  version: string | null;
  project: string;
  domain: string;
  inputs: Record<string, unknown>;
}

export function launch(request: LaunchRequest): Promise<ExecutionDetail> {
  return call("/launch", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request),
  });
}

/** A file uploaded for a launch (POST /uploads): a File input is given as ``ref``. */
export interface UploadShape {
  hash: string;
  name: string;
  size: number;
  format: string;
  ref: string;
}

/** Upload ``file`` (its bytes as the request body, streamed by the browser) as a File
 * value; the server answers its digest and the ``artifact:<hash>`` to launch with. */
export function uploadFile(file: Blob & { name: string }, project = "default"): Promise<UploadShape> {
  const query = new URLSearchParams({ name: file.name, project });
  return call(`/uploads?${query.toString()}`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: file,
  });
}

/** Upload a folder as an archive (``format``: tar, tgz or zip) as a Directory value
 * named ``name``; the server unpacks it safely and answers the ``artifact:<hash>``. */
export function uploadDirectory(
  body: Blob,
  name: string,
  format: "tar" | "tgz" | "zip",
  project = "default",
): Promise<UploadShape> {
  const query = new URLSearchParams({ name, format, project });
  return call(`/uploads/directory?${query.toString()}`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body,
  });
}

/** A launch plan (rillet/platform/_schedule.py `_shown`): its schedule is
 * {type: "FixedRate", seconds} or {type: "CronSchedule", schedule}, or null. */
export interface LaunchPlanShape {
  project: string;
  domain: string;
  name: string;
  version: string;
  workflow: string | null;
  schedule: { type: string; seconds?: number; schedule?: string; [part: string]: unknown } | null;
  active: boolean;
  catch_up: boolean;
  next_fire_at: number | null;
}

export function listLaunchPlans(project = "default", domain = "development"): Promise<LaunchPlanShape[]> {
  const query = new URLSearchParams({ project, domain });
  return call(`/launchplans?${query.toString()}`);
}

export function setPlanActive(plan: LaunchPlanShape, active: boolean): Promise<Record<string, unknown>> {
  return call(`/launchplans/${active ? "activate" : "deactivate"}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: plan.name, project: plan.project, domain: plan.domain }),
  });
}

/** A model in the registry's list (GET /models). */
export interface ModelSummary {
  name: string;
  latest: number;
  versions: number;
  aliases: Record<string, number>;
  updated_at: number;
}

export interface ModelVersionShape {
  name: string;
  version: number;
  aliases: string[];
  execution_id: string;
  node_id: string;
  output: string;
  hash: string;
  workflow: string;
  task: string;
  inputs: Record<string, unknown>;
  created_at: number;
  created_by: string;
}

export interface ModelHistoryShape {
  name: string;
  event: string;
  alias: string | null;
  version: number | null;
  previous: number | null;
  detail: Record<string, unknown>;
  at: number;
  who: string;
}

export interface ModelDetail {
  name: string;
  versions: ModelVersionShape[];
  history: ModelHistoryShape[];
}

export function listModels(): Promise<ModelSummary[]> {
  return call("/models");
}

export function getModel(name: string): Promise<ModelDetail> {
  return call(`/models/${encodeURIComponent(name)}`);
}

/** Point ``alias`` of model ``name`` at ``version`` (recorded in its history). */
export function moveAlias(name: string, alias: string, version: number): Promise<Record<string, unknown>> {
  return call(`/models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ version }),
  });
}
