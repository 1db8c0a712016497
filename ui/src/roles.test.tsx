import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// The DAG (React Flow) is checked in the browser (e2e); here only the page's actions.
vi.mock("./Dag", () => ({ Dag: () => <div data-dag="stand-in" /> }));
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { LaunchPlansPage, VersionsPage } from "./Catalog";
import { ExecutionPage } from "./ExecutionPage";
import { ExecutionsList } from "./ExecutionsList";
import { LaunchPage } from "./LaunchPage";
import { allows } from "./roles";
import type { WhoAmI } from "./api";

// Role-aware pages: the actions a token's role may not take are not offered; the role
// comes from GET /whoami (the server's answer), per project.
let me: WhoAmI;
const asked: string[] = [];
const scope = { project: "team", domain: "development" };

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
const entity = (name: string, kind: string) => ({
  name, kind, version: "v1", ...scope, created_at: 1_700_000_000, identity: "wf:diamond",
  interface: { inputs: { n: { kind: "int" } }, defaults: { n: 5 } },
});

beforeEach(() => {
  asked.length = 0;
  window.history.replaceState(null, "", "/?project=team");
  vi.stubGlobal("fetch", async (input: string) => {
    const url = new URL(input, "http://ui.test");
    asked.push(url.pathname);
    switch (url.pathname) {
      case "/api/v1/whoami":
        return json(me);
      case "/api/v1/executions":
        return json([
          { execution_id: "e-run", workflow: "wf:diamond", status: "RUNNING", created_at: 1, started_at: 1, ended_at: null, parent_id: null, error: null },
        ]);
      case "/api/v1/executions/e-done":
        return json({
          execution_id: "e-done", workflow: "wf:diamond", source: "", status: "SUCCEEDED", parent_id: null, error: null,
          inputs: {}, outputs: {}, created_at: 1, started_at: 1, ended_at: 2, nodes: [], input_values: {}, ...scope,
        });
      case "/api/v1/versions":
        return json([entity("wf.flow", "workflow")]);
      case "/api/v1/launchplans":
        return json([{ ...scope, name: "nightly", version: "v1", workflow: "wf.flow", schedule: { type: "CronSchedule", schedule: "0 2 * * *" }, active: false, catch_up: false, next_fire_at: null }]);
      default:
        return new Response(JSON.stringify({ error: `no route ${url.pathname}` }), { status: 404 });
    }
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

const role = (r: string, project = "team"): WhoAmI => ({ user: "u", auth: true, admin: false, roles: { [project]: r } });
const answered = () => waitFor(() => expect(asked).toContain("/api/v1/whoami"));

describe("allows", () => {
  it("ranks the roles per project; an admin may anything; unknown allows nothing", () => {
    expect(allows(role("launcher"), "team", "viewer")).toBe(true);
    expect(allows(role("launcher"), "team", "launcher")).toBe(true);
    expect(allows(role("launcher"), "team", "editor")).toBe(false);
    expect(allows(role("admin"), "other", "viewer")).toBe(false);
    expect(allows(role("editor"), undefined, "launcher")).toBe(true);
    expect(allows(role("viewer"), undefined, "launcher")).toBe(false);
    expect(allows({ user: "root", auth: true, admin: true, roles: {} }, "any", "admin")).toBe(true);
    expect(allows(undefined, "team", "viewer")).toBe(false);
  });
});

describe("an execution's page", () => {
  it("offers a viewer no Recover or Relaunch; a launcher of its project both", async () => {
    me = role("viewer");
    wrap(<ExecutionPage id="e-done" />);
    await screen.findByRole("heading", { name: /e-done/ });
    await answered();
    expect(screen.queryByRole("button", { name: "Recover" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Relaunch" })).toBeNull();
    cleanup();

    me = role("launcher", "elsewhere"); // a launcher, but not in the execution's project
    wrap(<ExecutionPage id="e-done" />);
    await screen.findByRole("heading", { name: /e-done/ });
    await answered();
    expect(screen.queryByRole("button", { name: "Recover" })).toBeNull();
    cleanup();

    me = role("launcher");
    wrap(<ExecutionPage id="e-done" />);
    expect(await screen.findByRole("button", { name: "Recover" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Relaunch" })).toBeTruthy();
  });
});

describe("the executions list", () => {
  it("offers Abort to a launcher of the listed project only", async () => {
    me = role("viewer");
    wrap(<ExecutionsList />);
    await screen.findByText("e-run");
    await answered();
    expect(screen.queryByRole("button", { name: "Abort" })).toBeNull();
    cleanup();
    me = role("launcher");
    wrap(<ExecutionsList />);
    expect(await screen.findByRole("button", { name: "Abort" })).toBeTruthy();
  });
});

describe("the catalog and the launch form", () => {
  it("a viewer sees no Launch link, no Activate and no Launch button; the reason is said", async () => {
    me = role("viewer", "default");
    const plans = wrap(<LaunchPlansPage />);
    await screen.findByText("cron 0 2 * * *");
    await answered();
    expect(screen.queryByRole("button", { name: "Activate nightly" })).toBeNull();
    expect(screen.queryByRole("link", { name: "Launch nightly" })).toBeNull();
    plans.unmount();

    wrap(<VersionsPage />);
    await screen.findByText("wf.flow");
    expect(screen.queryByRole("link", { name: "Launch wf.flow" })).toBeNull();
    cleanup();

    wrap(<LaunchPage name="wf.flow" project="team" />);
    expect((await screen.findByText(/may not launch in team/)).textContent).toBe(
      "Your token may not launch in team (it needs the role launcher).",
    );
    expect(screen.queryByRole("button", { name: "Launch" })).toBeNull();
  });

  it("a launcher may launch but not activate; an admin of the project both", async () => {
    me = role("launcher", "default");
    wrap(<LaunchPlansPage />);
    expect(await screen.findByRole("link", { name: "Launch nightly" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Activate nightly" })).toBeNull();
    cleanup();
    me = role("admin", "default");
    wrap(<LaunchPlansPage />);
    expect(await screen.findByRole("button", { name: "Activate nightly" })).toBeTruthy();
  });
});
