import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { LaunchPlansPage, ModelsPage, scheduleText, VersionsPage } from "./Catalog";
import { LaunchPage } from "./LaunchPage";
import { route } from "./router";
import { firstFile, VersionPage } from "./VersionPage";

// The API answered from a table, as in components.test.tsx; the real server is the
// end-to-end test's (e2e/run.mjs steps 12-14).
type Answer = { status?: number; body: unknown };
const OPEN_SERVER = { user: "anonymous", auth: false, admin: true, roles: {} };
let routes: Record<string, (url: URL, init?: RequestInit) => Answer>;
const calls: string[] = [];
const bodies: unknown[] = [];

beforeEach(() => {
  calls.length = 0;
  bodies.length = 0;
  window.history.replaceState(null, "", "/");
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://ui.test");
    calls.push(`${init?.method ?? "GET"} ${url.pathname}${url.search}`);
    if (typeof init?.body === "string") bodies.push(JSON.parse(init.body));
    // Who the token is: an open server's answer unless a test says otherwise.
    const handler = routes[`${init?.method ?? "GET"} ${url.pathname}`] ??
      (url.pathname === "/api/v1/whoami" ? (): Answer => ({ body: OPEN_SERVER }) : undefined);
    const answer = handler ? handler(url, init) : { status: 404, body: { error: `no route ${url.pathname}` } };
    return new Response(JSON.stringify(answer.body), {
      status: answer.status ?? 200,
      headers: { "content-type": "application/json" },
    });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function wrap(ui: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>);
}

const entity = (name: string, kind: string, version: string, project = "default") => ({
  name, kind, version, project, domain: "development", created_at: 1_700_000_000,
  identity: "wf:diamond", interface: { inputs: { n: { kind: "int" } }, defaults: { n: 5 } },
});

describe("VersionsPage", () => {
  it("lists every version with a launch link for workflows and plans, not tasks; another project is asked for", async () => {
    routes = {
      "GET /api/v1/versions": (url) => ({
        body:
          url.searchParams.get("project") === "team"
            ? [entity("team.flow", "workflow", "v9", "team")]
            : [entity("wf.diamond", "workflow", "abc123"), entity("wf.load", "task", "abc123"),
               entity("nightly", "launch_plan", "abc123")],
      }),
    };
    wrap(<VersionsPage />);
    const row = await screen.findByText("wf.diamond");
    const tr = row.closest("tr");
    expect(tr?.getAttribute("data-version")).toBe("wf.diamond@abc123");
    expect(within(tr as HTMLElement).getByRole("link", { name: "Launch wf.diamond" }).getAttribute("href")).toBe(
      "/launch?name=wf.diamond",
    );
    expect(screen.getByRole("link", { name: "Launch nightly" })).toBeTruthy();
    expect(screen.queryByRole("link", { name: "Launch wf.load" })).toBeNull();
    expect(calls).toContain("GET /api/v1/versions?project=default&domain=development");

    fireEvent.change(screen.getByLabelText("Project"), { target: { value: "team" } });
    fireEvent.click(screen.getByRole("button", { name: "Show" }));
    const link = await screen.findByRole("link", { name: "Launch team.flow" });
    expect(link.getAttribute("href")).toBe("/launch?name=team.flow&project=team");
    expect(calls).toContain("GET /api/v1/versions?project=team&domain=development");
    fireEvent.click(link);
    expect(window.location.pathname + window.location.search).toBe("/launch?name=team.flow&project=team");
  });

  it("shows the server's error", async () => {
    routes = { "GET /api/v1/versions": () => ({ status: 400, body: { error: "project: bad name" } }) };
    wrap(<VersionsPage />);
    expect((await screen.findByRole("alert")).textContent).toBe("Could not list versions: project: bad name");
  });
});

describe("VersionPage", () => {
  it("links from the versions list, lists the bundle's files and shows one's code", async () => {
    routes = {
      "GET /api/v1/versions": () => ({ body: [entity("team.flow", "workflow", "v9", "team")] }),
      "GET /api/v1/versions/v9/files": () => ({
        body: {
          project: "team", domain: "development", version: "v9", bundle_hash: "b".repeat(64), created_at: 1_700_000_000,
          entities: [{ name: "team.flow", kind: "workflow" }, { name: "team.step", kind: "task" }],
          files: [{ path: "README.md", size: 10 }, { path: "team/__init__.py", size: 0 }, { path: "team/flow.py", size: 42 }],
        },
      }),
      "GET /api/v1/versions/v9/file": (url) =>
        url.searchParams.get("path") === "README.md"
          ? { status: 400, body: { error: "README.md is not UTF-8 text: it is not shown" } }
          : { body: { path: url.searchParams.get("path"), size: 42, text: `# ${url.searchParams.get("path")}\nfrom rillet import task\n` } },
    };
    wrap(<VersionsPage />);
    const cell = await screen.findByRole("link", { name: "v9" });
    expect(cell.getAttribute("href")).toBe("/versions/v9?project=team&domain=development");
    expect(route("/versions/v9?project=team&domain=development&file=team%2Fflow.py")).toEqual({
      page: "version", version: "v9", project: "team", domain: "development", file: "team/flow.py", compare: null,
    });
    cleanup();

    wrap(<VersionPage version="v9" project="team" domain="development" file={null} />);
    // The first Python file is shown to begin with.
    const code = await screen.findByLabelText("code of team/__init__.py");
    expect(code.textContent).toBe("# team/__init__.py\nfrom rillet import task\n");
    expect(screen.getByRole("link", { name: "Launch team.flow" }).getAttribute("href")).toBe("/launch?name=team.flow&project=team");
    expect(screen.queryByRole("link", { name: "Launch team.step" })).toBeNull();
    expect(calls).toContain("GET /api/v1/versions/v9/file?path=team%2F__init__.py&project=team&domain=development");
  });

  it("compares two versions' code side by side: the files each has, a file's changed lines", async () => {
    const listing = (version: string, files: string[]) => ({
      body: { project: "default", domain: "development", version, bundle_hash: "d".repeat(64), created_at: 1,
              entities: [], files: files.map((path) => ({ path, size: 9 })) },
    });
    const texts: Record<string, string> = {
      "v1/flow.py": "from rillet import task\n\n@task\ndef f(n: int) -> int:\n    return n + 1\n",
      "v2/flow.py": "from rillet import task\n\n@task\ndef f(n: int, k: int = 1) -> int:\n    return n + k\n",
      "v1/old.py": "x = 1\n",
      "v2/new.py": "y = 2\n",
    };
    routes = {
      "GET /api/v1/versions": () => ({ body: [entity("flow.f", "workflow", "v1", "default"), { ...entity("flow.f", "workflow", "v2", "default"), created_at: 2 }] }),
      "GET /api/v1/versions/v1/files": () => listing("v1", ["flow.py", "old.py"]),
      "GET /api/v1/versions/v2/files": () => listing("v2", ["flow.py", "new.py"]),
      "GET /api/v1/versions/v1/file": (url) => ({ body: { path: url.searchParams.get("path"), size: 9, text: texts[`v1/${url.searchParams.get("path")}`] } }),
      "GET /api/v1/versions/v2/file": (url) => ({ body: { path: url.searchParams.get("path"), size: 9, text: texts[`v2/${url.searchParams.get("path")}`] } }),
    };
    expect(route("/versions/v1?project=default&domain=development&compare=v2")).toMatchObject({ version: "v1", compare: "v2" });
    const { container } = wrap(<VersionPage version="v1" project="default" domain="development" file={null} compare="v2" />);
    const diff = await screen.findByRole("region", { name: "diff of flow.py" });
    expect(diff.textContent).toContain("2 lines differ");
    const changed = [...diff.querySelectorAll('tr[data-kind="changed"]')].map((tr) => tr.textContent);
    expect(changed).toEqual(["4− def f(n: int) -> int:4+ def f(n: int, k: int = 1) -> int:", "5−     return n + 15+     return n + k"]);
    expect(diff.querySelectorAll('tr[data-kind="same"]')).toHaveLength(3);
    const states = [...container.querySelectorAll("li[data-state]")].map((li) => `${li.getAttribute("data-state")}:${li.querySelector("a")?.textContent}`);
    expect(states).toEqual(["both:flow.py", "added:new.py", "removed:old.py"]);
    fireEvent.click(screen.getByRole("link", { name: "new.py" }));
    await waitFor(() => expect(window.location.search).toContain("file=new.py"));
    expect((screen.getByLabelText("Compare with") as HTMLSelectElement).value).toBe("v2");
  });

  it("opens the file the URL names, and says why one cannot be shown", async () => {
    routes = {
      "GET /api/v1/versions/v1/files": () => ({
        body: { project: "default", domain: "development", version: "v1", bundle_hash: "c".repeat(64), created_at: 1,
                entities: [], files: [{ path: "data.bin", size: 3 }, { path: "flow.py", size: 3 }] },
      }),
      "GET /api/v1/versions/v1/file": () => ({ status: 400, body: { error: "data.bin is not UTF-8 text: it is not shown" } }),
      "GET /api/v1/versions/v2/files": () => ({ status: 404, body: { error: "no version 'v2' registered in default/development" } }),
    };
    wrap(<VersionPage version="v1" project="default" domain="development" file="data.bin" />);
    expect((await screen.findByRole("alert")).textContent).toBe("Could not show data.bin: data.bin is not UTF-8 text: it is not shown");
    expect(screen.getByRole("link", { name: "data.bin" }).getAttribute("aria-current")).toBe("page");
    cleanup();
    wrap(<VersionPage version="v2" project="default" domain="development" file={null} />);
    expect((await screen.findByRole("alert")).textContent).toBe(
      "Could not read version v2: no version 'v2' registered in default/development",
    );
    expect(firstFile([{ path: "a.txt" }, { path: "b.py" }], null)).toBe("b.py");
    expect(firstFile([{ path: "a.txt" }], "gone.py")).toBe("a.txt");
    expect(firstFile([], null)).toBeNull();
  });
});

describe("the launch link", () => {
  it("routes /launch?name= with its scope, and the form opens on that workflow", async () => {
    expect(route("/launch?name=team.flow&project=team")).toEqual({
      page: "launch", from: null, name: "team.flow", project: "team", domain: "development",
    });
    expect(route("/versions")).toEqual({ page: "versions" });
    expect(route("/launchplans/")).toEqual({ page: "launchplans" });
    expect(route("/models")).toEqual({ page: "models" });
    routes = { "GET /api/v1/versions": () => ({ body: [entity("team.flow", "workflow", "v9", "team")] }) };
    wrap(<LaunchPage name="team.flow" project="team" domain="development" />);
    await screen.findByText(/workflow team.flow · version v9 · team\/development/);
    expect((screen.getByLabelText("Workflow") as HTMLSelectElement).value).toBe("team.flow");
    expect(calls).toContain("GET /api/v1/versions?project=team&domain=development");
  });
});

const plan = (name: string, active: boolean, schedule: Record<string, unknown> | null) => ({
  project: "default", domain: "development", name, version: "abc123", workflow: "wf.diamond",
  schedule, active, catch_up: false, next_fire_at: active ? 1_900_000_000 : null,
});

describe("LaunchPlansPage", () => {
  it("shows schedule, state and next fire; Activate posts and the row turns active", async () => {
    let active = false;
    routes = {
      "GET /api/v1/launchplans": () => ({
        body: [plan("nightly", active, { type: "CronSchedule", schedule: "0 2 * * *" }), plan("adhoc", false, null)],
      }),
      "POST /api/v1/launchplans/activate": () => {
        active = true;
        return { body: { name: "nightly", active: true } };
      },
      "POST /api/v1/launchplans/deactivate": () => ({ status: 403, body: { error: "role viewer may not deactivate" } }),
    };
    const { container } = wrap(<LaunchPlansPage />);
    await screen.findByText("cron 0 2 * * *");
    expect(container.querySelector('tr[data-plan="nightly"]')?.getAttribute("data-active")).toBe("false");
    expect(screen.getByText("inactive", { selector: 'tr[data-plan="nightly"] td' })).toBeTruthy();
    // no schedule: nothing to activate, but it can be launched
    expect(screen.queryByRole("button", { name: "Activate adhoc" })).toBeNull();
    expect(screen.getByRole("link", { name: "Launch adhoc" }).getAttribute("href")).toBe("/launch?name=adhoc");

    fireEvent.click(screen.getByRole("button", { name: "Activate nightly" }));
    await screen.findByRole("button", { name: "Deactivate nightly" });
    expect(bodies).toEqual([{ name: "nightly", project: "default", domain: "development" }]);
    const row = container.querySelector('tr[data-plan="nightly"]');
    expect(row?.getAttribute("data-active")).toBe("true");
    expect(row?.querySelector("td[data-next]")?.getAttribute("data-next")).toBe("1900000000");

    fireEvent.click(screen.getByRole("button", { name: "Deactivate nightly" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Refused: not allowed (403): role viewer may not deactivate");
    expect(calls).toContain("POST /api/v1/launchplans/deactivate");
  });

  it("writes schedules in words", () => {
    expect(scheduleText(null)).toBe("none");
    expect(scheduleText({ type: "FixedRate", seconds: 3600 })).toBe("every 3600 s");
    expect(scheduleText({ type: "CronSchedule", schedule: "@daily" })).toBe("cron @daily");
  });
});

describe("ModelsPage", () => {
  it("lists models with their aliases; one picked shows its versions and history", async () => {
    routes = {
      "GET /api/v1/models": () => ({
        body: [{ name: "ranker", latest: 2, versions: 2, aliases: { prod: 1, staging: 2 }, updated_at: 1_700_000_100 }],
      }),
      "GET /api/v1/models/ranker": () => ({
        body: {
          name: "ranker",
          versions: [1, 2].map((v) => ({
            name: "ranker", version: v, aliases: v === 1 ? ["prod"] : ["staging"], execution_id: `e${v}`,
            node_id: "total", output: "o0", hash: "h", workflow: "wf:diamond", task: "t", inputs: {},
            created_at: 1_700_000_000 + v, created_by: "ana",
          })),
          history: [
            { name: "ranker", event: "register", alias: null, version: 1, previous: null, detail: {}, at: 1, who: "ana" },
            { name: "ranker", event: "alias", alias: "prod", version: 1, previous: null, detail: {}, at: 2, who: "bo" },
          ],
        },
      }),
    };
    const { container } = wrap(<ModelsPage />);
    await screen.findByText("prod → 1, staging → 2");
    fireEvent.click(screen.getByRole("button", { name: "ranker" }));
    await screen.findByRole("heading", { name: "Model ranker" });
    const v1 = container.querySelector('tr[data-model-version="1"]') as HTMLElement;
    expect(within(v1).getByText("prod")).toBeTruthy();
    expect(within(v1).getByRole("link", { name: "e1" }).getAttribute("href")).toBe("/executions/e1");
    const events = [...container.querySelectorAll(".model-history li")].map((li) => li.getAttribute("data-event"));
    expect(events).toEqual(["register", "alias"]);
    expect(container.querySelector('.model-history li[data-event="alias"]')?.textContent).toMatch(/bo: alias prod → 1$/);
  });

  it("links each version to its lineage and moves an alias, the move then in the history", async () => {
    let prod = 1;
    const history: { name: string; event: string; alias: string | null; version: number; previous: number | null; detail: object; at: number; who: string }[] = [
      { name: "ranker", event: "register", alias: null, version: 1, previous: null, detail: {}, at: 1, who: "ana" },
      { name: "ranker", event: "alias", alias: "prod", version: 1, previous: null, detail: {}, at: 2, who: "bo" },
    ];
    routes = {
      "GET /api/v1/models": () => ({ body: [{ name: "ranker", latest: 2, versions: 2, aliases: { prod }, updated_at: 1 }] }),
      "GET /api/v1/models/ranker": () => ({
        body: {
          name: "ranker",
          versions: [1, 2].map((v) => ({
            name: "ranker", version: v, aliases: v === prod ? ["prod"] : [], execution_id: `e${v}`, node_id: "total",
            output: "o0", hash: `hash${v}`, workflow: "wf:diamond", task: "t", inputs: {}, created_at: v, created_by: "ana",
          })),
          history,
        },
      }),
      "PUT /api/v1/models/ranker/aliases/prod": () => {
        history.push({ name: "ranker", event: "alias", alias: "prod", version: 2, previous: prod, detail: {}, at: 3, who: "cy" });
        prod = 2;
        return { body: { name: "ranker", alias: "prod", version: 2 } };
      },
    };
    const { container } = wrap(<ModelsPage />);
    fireEvent.click(await screen.findByRole("button", { name: "ranker" }));
    const link = await screen.findByRole("link", { name: "lineage of version 2" });
    expect(link.getAttribute("href")).toBe("/lineage/hash2");
    const form = screen.getByRole("form", { name: "move an alias of ranker" });
    expect((within(form).getByLabelText("Alias") as HTMLInputElement).value).toBe("prod");
    fireEvent.change(within(form).getByLabelText(/to version/), { target: { value: "2" } });
    fireEvent.click(within(form).getByRole("button", { name: "Move alias" }));
    await waitFor(() => expect(container.querySelectorAll(".model-history li")).toHaveLength(3));
    expect(bodies).toContainEqual({ version: 2 });
    expect(container.querySelectorAll(".model-history li")[2]?.textContent).toMatch(/cy: alias prod → 2 \(was 1\)$/);
    expect(within(container.querySelector('tr[data-model-version="2"]') as HTMLElement).getByText("prod")).toBeTruthy();
  });

  it("says when there is none", async () => {
    routes = { "GET /api/v1/models": () => ({ body: [] }) };
    wrap(<ModelsPage />);
    await screen.findByText("No model registered yet.");
  });
});
