// End to end: Debian's chromium, driven by playwright-core, against a running
// `rillet ui` with real executions in it (tests/ui/test_ui_e2e.py starts all that and
// runs this script). Exits 1 with one line per failed check; a screenshot per step,
// each after an axe-core check of the page (no serious or critical violation).
//
//   RILLET_URL=http://127.0.0.1:PORT RILLET_SHOTS=DIR RILLET_E2E='{"done": ID, "running": ID, "mapped": ID, "nested": ID, "tables": ID, "shapes": ID}'
//   [CHROMIUM=/usr/bin/chromium] node e2e/run.mjs
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

const url = process.env.RILLET_URL;
const shots = process.env.RILLET_SHOTS ?? "e2e/out";
const { done, running, mapped, nested, tables, shapes, versions } = JSON.parse(process.env.RILLET_E2E ?? "{}");
if (!url || !done || !running || !mapped || !nested || !tables || !shapes || !versions) {
  console.error("run.mjs: set RILLET_URL and RILLET_E2E ({\"done\": ID, \"running\": ID, \"mapped\": ID, \"nested\": ID, \"tables\": ID})");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const TIMEOUT = 60_000; // generous: a loaded 2-core machine

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const consoleErrors = [];
const pending = new Map();
const axeViolations = [];
let step = 0;
let page;
try {
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
  // Requests not answered yet, printed on a failure (a request left pending says where).
  page.on("request", (r) => pending.set(r, `${r.method()} ${r.url()} (from ${new Date().toISOString()})`));
  page.on("requestfinished", (r) => pending.delete(r));
  page.on("requestfailed", (r) => pending.delete(r));
  // axe-core on the page as it stands: serious and critical violations are failures.
  const axe = async (name) => {
    if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE });
    const found = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ["violations"] });
      return {
        checked: result.passes === undefined ? null : result.passes.length,
        minor: result.violations.filter((v) => v.impact !== "serious" && v.impact !== "critical").map((v) => v.id),
        serious: result.violations
          .filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id} (${v.impact}): ${v.help}; ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`),
      };
    });
    console.log(`axe ${name}: ${found.serious.length} serious or critical, minor: ${found.minor.join(", ") || "none"}`);
    for (const v of found.serious) axeViolations.push(`${name}: ${v}`);
  };
  const shot = async (name) => {
    await axe(name);
    step += 1;
    const file = join(shots, `${String(step).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot ${file}`);
  };
  const row = (id) => page.locator(`tr[data-execution="${id}"]`);
  // Open a node's panel: click it until its panel shows (a click can land while the
  // graph is drawn again); a condition, not a timer, ends the wait.
  const openNode = async (id) => {
    const panel = page.getByRole("complementary", { name: `node ${id}` });
    for (let i = 0; i < 20 && !(await panel.isVisible()); i++) {
      await page.locator(`.react-flow__node[data-id="${id}"]`).click();
      await panel.waitFor({ timeout: 3000 }).catch(() => undefined);
    }
    await panel.waitFor();
  };

  // 1. The list shows both executions with their live status.
  await page.goto(url);
  await row(done).locator('[data-status="SUCCEEDED"]').waitFor();
  await row(running).locator('[data-status="RUNNING"]').waitFor();
  await row(running).getByRole("button", { name: "Abort" }).waitFor();
  await shot("executions");

  // 2. Filtering by status leaves the succeeded one only.
  await page.getByLabel("Status").selectOption("SUCCEEDED");
  await row(running).waitFor({ state: "detached" });
  await row(done).waitFor();
  await shot("executions-filtered");
  // The filters live in the URL: a reload keeps them; created in the last hour still
  // shows the succeeded one, another project shows none (the server filters).
  await page.waitForURL((u) => u.searchParams.get("status") === "SUCCEEDED");
  await page.getByLabel("Created").selectOption("1h");
  await page.waitForURL((u) => u.searchParams.get("since") === "1h");
  await page.reload();
  await row(done).waitFor();
  if ((await page.getByLabel("Status").inputValue()) !== "SUCCEEDED") throw new Error("a reload lost the status filter");
  await page.getByLabel("Project").fill("elsewhere");
  await page.getByText("No executions match.").waitFor();
  await shot("executions-filters-in-url");
  await page.goto(url);
  await row(running).waitFor();

  // 3. The running execution's page: its node RUNNING; abort it from there and the
  // node and the execution change state live (the event stream), with no reload.
  await row(running).getByRole("link").click();
  await page.waitForURL(`**/executions/${running}`);
  const sleeper = page.locator('.react-flow__node [data-node="sleeper"]');
  await sleeper.and(page.locator('[data-status="RUNNING"]')).waitFor();
  // The whole DAG from the execution's IR: `after` has not started (it has no inputs
  // yet, so no data flow could draw its edge), and its edge from the sleeper is drawn.
  const afterNode = page.locator('.react-flow__node [data-node="after"]');
  await afterNode.waitFor();
  const afterStatus = await afterNode.getAttribute("data-status");
  if (afterStatus !== "QUEUED" && afterStatus !== "PENDING")
    throw new Error(`the node after the sleeper is ${afterStatus}, not QUEUED or PENDING`);
  await page.locator('.react-flow__edge[data-id="sleeper->after"]').waitFor({ state: "attached" }); // a flat line: no height
  await shot("running-execution");
  // The sleeper's logs stream while it runs: a tick printed after the panel opened
  // appears in it with no reload (the server's log stream, not a refetch).
  await openNode("sleeper");
  const liveLogs = page.locator('pre[aria-label="logs of attempt 1"][data-live="true"]');
  await liveLogs.filter({ hasText: "still sleeping: tick" }).waitFor();
  const ticks = (text) => Math.max(0, ...[...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
  const firstTick = ticks(await liveLogs.textContent());
  await liveLogs.filter({ hasText: `tick ${firstTick + 2}` }).waitFor();
  await shot("running-node-logs");
  await page.getByRole("button", { name: "Abort" }).click();
  await page.locator('#execution-title [data-status="ABORTED"]').waitFor();
  await page.waitForFunction(
    () => document.querySelector('[data-node="sleeper"]')?.getAttribute("data-status") !== "RUNNING",
  );
  await shot("aborted-execution");

  // 4. Back to the list (client-side): the aborted one has no abort button any more.
  await page.getByRole("link", { name: "← Executions" }).click();
  await row(running).locator('[data-status="ABORTED"]').waitFor();
  if ((await row(running).getByRole("button", { name: "Abort" }).count()) !== 0)
    throw new Error("an ABORTED execution still shows an Abort button");

  // 5. The succeeded execution's DAG: 4 nodes, all SUCCEEDED, 4 edges, left to right.
  await row(done).getByRole("link").click();
  await page.waitForURL(`**/executions/${done}`);
  await page.locator(".react-flow__node").nth(3).waitFor();
  const nodes = await page.locator(".react-flow__node").count();
  const succeeded = await page.locator('.react-flow__node [data-status="SUCCEEDED"]').count();
  await page.locator(".react-flow__edge").nth(3).waitFor();
  const edges = await page.locator(".react-flow__edge").count();
  if (nodes !== 4 || succeeded !== 4 || edges !== 4)
    throw new Error(`the DAG has ${nodes} nodes (${succeeded} SUCCEEDED) and ${edges} edges; expected 4, 4, 4`);
  const x = async (id) => (await page.locator(`.react-flow__node[data-id="${id}"]`).boundingBox()).x;
  const [xLoad, xTotal, xReport] = [await x("load"), await x("total"), await x("report")];
  if (!(xLoad < xTotal && xTotal < xReport))
    throw new Error(`not left to right: load x=${xLoad}, total x=${xTotal}, report x=${xReport}`);
  await shot("dag");

  // 6. The node panel: its output value inline, its attempt and its logs.
  await openNode("total");
  const panel = page.getByRole("complementary", { name: "node total" });
  await panel.locator('[data-values="outputs"] code', { hasText: /^10$/ }).waitFor();
  await panel.locator('[data-values="inputs"] code', { hasText: "[0,1,2,3,4]" }).waitFor();
  await panel.getByLabel("logs of attempt 1").filter({ hasText: "summing 5 numbers" }).waitFor();
  await panel.locator('[data-param="method"]', { hasText: '"sum"' }).waitFor();
  await panel.locator('[data-metric="running_total"]', { hasText: "10 (step 4)" }).waitFor();
  // The timeline: one bar per node that ran.
  const bars = await page.locator(".timeline [data-bar]").count();
  if (bars !== 4) throw new Error(`the timeline has ${bars} bars, not 4`);
  await shot("node-panel");

  // 7. Re-run from the node: a recovery that reuses load and biggest and runs total and
  // what follows it again (the server's runner), opened as the new execution.
  await panel.getByRole("button", { name: "Re-run from this node" }).click();
  await page.waitForURL((u) => u.pathname.startsWith("/executions/") && !u.pathname.endsWith(done));
  const rerun = page.url().split("/").pop();
  await page.locator('#execution-title [data-status="SUCCEEDED"]').waitFor({ timeout: 120_000 });
  const status = (id) => page.locator(`.react-flow__node [data-node="${id}"]`).getAttribute("data-status");
  await page.locator('.react-flow__node [data-node="report"][data-status="SUCCEEDED"]').waitFor();
  const states = {};
  for (const id of ["load", "biggest", "total", "report"]) states[id] = await status(id);
  const expected = { load: "RECOVERED", biggest: "RECOVERED", total: "SUCCEEDED", report: "SUCCEEDED" };
  if (JSON.stringify(states) !== JSON.stringify(expected))
    throw new Error(`the re-run's nodes are ${JSON.stringify(states)}, not ${JSON.stringify(expected)}`);
  await shot("rerun-from-node");

  // 8. The launch form of the registered diamond, from its type descriptors: a bad
  // value is refused before sending; a good one launches, and the server's worker runs it.
  await page.getByRole("link", { name: "Launch", exact: true }).click();
  await page.waitForURL("**/launch");
  await page.getByLabel("Workflow").selectOption("wf_ui.diamond");
  const n = page.locator("#input-n");
  if ((await n.inputValue()) !== "5") throw new Error(`n starts as '${await n.inputValue()}', not its default 5`);
  await n.fill("2.5");
  await page.getByRole("button", { name: "Launch" }).click();
  await page.getByRole("alert").filter({ hasText: "n expects an integer, got '2.5'" }).waitFor();
  await shot("launch-form-refused");
  await n.fill("3");
  await page.getByRole("button", { name: "Launch" }).click();
  await page.waitForURL(/\/executions\/[0-9a-f]+$/);
  await page.locator('#execution-title [data-status="SUCCEEDED"]').waitFor({ timeout: 120_000 });
  await page.locator('.react-flow__node [data-status="SUCCEEDED"]').nth(3).waitFor();
  await openNode("report");
  await page
    .getByRole("complementary", { name: "node report" })
    .locator('[data-values="outputs"] code', { hasText: '"sum=3 max=2"' })
    .waitFor();
  await shot("launched-execution");

  // 8b. Relaunch from that execution's page: the form opens with its inputs (n=3)
  // prefilled; n=4 launches a new execution that the worker runs.
  const launched = page.url().split("/").pop();
  await page.getByRole("button", { name: "Relaunch" }).click();
  await page.waitForURL(`**/launch?from=${launched}`);
  await page.locator(`[data-relaunch="${launched}"]`).waitFor();
  await page.locator("#input-n").waitFor();
  if ((await page.locator("#input-n").inputValue()) !== "3")
    throw new Error(`the relaunch form starts with n='${await page.locator("#input-n").inputValue()}', not 3`);
  await shot("relaunch-form");
  await page.locator("#input-n").fill("4");
  await page.getByRole("button", { name: "Launch" }).click();
  await page.waitForURL((u) => /^\/executions\/[0-9a-f]+$/.test(u.pathname) && !u.pathname.endsWith(launched));
  const relaunched = page.url().split("/").pop();
  await page.locator('#execution-title [data-status="SUCCEEDED"]').waitFor({ timeout: 120_000 });
  // The report node as the server recorded it (not only the end from the event stream):
  // SUCCEEDED in the DAG, then its panel opened, then its output shown.
  await page.locator('.react-flow__node [data-node="report"][data-status="SUCCEEDED"]').waitFor();
  await openNode("report");
  await page
    .getByRole("complementary", { name: "node report" })
    .locator('[data-values="outputs"] code', { hasText: '"sum=6 max=3"' })
    .waitFor();

  // 9. A reload of a client route serves the app again (the server's fallback).
  await page.reload();
  await page.locator(".react-flow__node").nth(3).waitFor();

  // 10. Compare: pick three executions of the diamond in the list (n=5, 3 and 4); the
  // compare page shows their inputs, params and final metrics side by side, the rows
  // that differ highlighted, and running_total's three curves overlaid (uPlot).
  await page.getByRole("link", { name: "rillet" }).click();
  for (const id of [done, launched, relaunched]) await row(id).getByRole("checkbox").check();
  await page.getByRole("button", { name: "Compare selected (3)" }).click();
  await page.waitForURL(`**/compare?ids=${done},${launched},${relaunched}`);
  const n_row = page.locator('tr[data-row="input:n"][data-differs="true"]');
  await n_row.waitFor();
  const cells = await n_row.locator("td").allTextContents();
  if (JSON.stringify(cells) !== JSON.stringify(["5", "3", "4"])) throw new Error(`compare: n is ${JSON.stringify(cells)}`);
  await page.locator('tr[data-row="param:total.method"][data-differs="false"]').waitFor();
  const finals = await page.locator('tr[data-row="metric:total.running_total"][data-differs="true"] td').allTextContents();
  if (JSON.stringify(finals) !== JSON.stringify(["10", "3", "6"]))
    throw new Error(`compare: the final running_total is ${JSON.stringify(finals)}, not 10, 3, 6`);
  const chart = page.locator('figure[data-chart="total.running_total"]');
  await chart.locator("canvas").waitFor();
  await chart.locator(".u-legend .u-series").nth(3).waitFor(); // step, then one per execution
  await shot("compare");

  // 11. Lineage: from the compare page to the first execution, its node total, and the
  // lineage of total's output: upstream load (and its input n), downstream report in
  // this execution and in the re-run (another execution that used the same value).
  await page.locator("thead").getByRole("link", { name: done }).click();
  await page.waitForURL(`**/executions/${done}`);
  await openNode("total");
  await page.getByRole("complementary", { name: "node total" }).getByRole("link", { name: "Lineage of its outputs" }).click();
  await page.waitForURL((u) => u.pathname === `/lineage/${encodeURIComponent(`${done}:total`)}`);
  await page.locator(".lineage-artifact.root").waitFor();
  for (const r of [`${done}:load`, `${done}:total`, `${done}:report`, `${rerun}:report`])
    await page.locator(`[data-run="${r}"]`).waitFor();
  await page.locator(".react-flow__edge").nth(5).waitFor();
  await shot("lineage");
  // A node run in the graph opens its execution.
  await page.locator(`.react-flow__node[data-id="n:${rerun}:report"]`).click();
  await page.waitForURL(`**/executions/${rerun}`);
  await page.locator(".react-flow__node").nth(3).waitFor();

  // 12. Versions (nav link): the registered diamond with a link that opens its form.
  const nav = (name) => page.locator("header.top").getByRole("link", { name, exact: true }).click();
  await nav("Versions");
  await page.waitForURL("**/versions");
  await page.locator('tr[data-version^="wf_ui.diamond@"]').first().waitFor();
  await page.locator('tr[data-version^="diamond_yearly@"]').first().waitFor();
  await shot("versions");
  await page.getByRole("link", { name: "Launch wf_ui.diamond" }).first().click();
  await page.waitForURL((u) => u.pathname === "/launch" && u.searchParams.get("name") === "wf_ui.diamond");
  await page.locator("#input-n").waitFor();

  // 12b. A version's page: what it registered and its code (the bundle's one file).
  await page.goBack();
  await page.locator('tr[data-version^="wf_ui.diamond@"]').first().locator("td:nth-child(3) a").click();
  await page.waitForURL((u) => u.pathname.startsWith("/versions/") && u.searchParams.get("project") === "default");
  await page.locator('li[data-entity="wf_ui.diamond"]').waitFor();
  const code = page.getByLabel("code of wf_ui.py");
  await code.locator("text=def diamond(n: int = 5) -> str:").waitFor();
  await shot("version-code");
  // 12c. Two versions' code side by side: report's changed line, removed beside added.
  const [va, vb] = versions;
  await page.goto(`${url}/versions/${va}?project=diffs&domain=development`);
  await page.getByLabel("Compare with").selectOption(vb);
  const diff = page.getByRole("region", { name: "diff of wf_ui.py" });
  await diff.locator("text=1 line differs").waitFor();
  const changedRow = diff.locator('tr[data-kind="changed"]');
  await changedRow.locator("td.old", { hasText: 'return f"sum={s} max={m}"' }).waitFor();
  await changedRow.locator("td.new", { hasText: 'return f"total={s} biggest={m}"' }).waitFor();
  await shot("version-diff");

  // 13. Launch plans: the yearly plan, inactive; Activate gives it a next fire time,
  // Deactivate takes it back (through the server's scheduler state).
  await nav("Launch plans");
  const plan = page.locator('tr[data-plan="diamond_yearly"]');
  await plan.locator("text=cron 0 0 1 1 *").waitFor();
  await page.locator('tr[data-plan="diamond_yearly"][data-active="false"]').waitFor();
  await plan.getByRole("button", { name: "Activate diamond_yearly" }).click();
  await page.locator('tr[data-plan="diamond_yearly"][data-active="true"] td[data-next]:not([data-next=""])').waitFor();
  const next = Number(await plan.locator("td[data-next]").getAttribute("data-next"));
  if (!(next > Date.now() / 1000)) throw new Error(`launch plans: next fire time ${next} is not in the future`);
  await shot("launch-plans");
  await plan.getByRole("button", { name: "Deactivate diamond_yearly" }).click();
  await page.locator('tr[data-plan="diamond_yearly"][data-active="false"]').waitFor();

  // 14. Models: wf_ui_total with alias prod at version 1; picked, its version comes
  // from the diamond's execution, and its history holds the registration; prod is
  // moved to version 2 from the page; version 1's lineage opens.
  await nav("Models");
  const model = page.locator('tr[data-model="wf_ui_total"]');
  await model.locator("text=prod → 1").waitFor();
  await model.getByRole("button", { name: "wf_ui_total" }).click();
  const v1 = page.locator('tr[data-model-version="1"]');
  await v1.getByRole("link", { name: done }).waitFor();
  await page.locator('.model-history li[data-event="register"]').first().waitFor();
  // Move prod to version 2 through the page: the history records the move.
  const aliasForm = page.getByRole("form", { name: "move an alias of wf_ui_total" });
  await aliasForm.getByLabel("Alias").fill("prod");
  await aliasForm.getByLabel(/to version/).selectOption("2");
  await aliasForm.getByRole("button", { name: "Move alias" }).click();
  await page.locator('.model-history li[data-event="alias"]', { hasText: "prod → 2 (was 1)" }).waitFor();
  await page.locator('tr[data-model-version="2"]', { hasText: "prod" }).waitFor();
  await shot("models");
  // A version's lineage: the value it is, upstream and downstream across executions.
  await v1.getByRole("link", { name: "lineage of version 1" }).click();
  await page.waitForURL("**/lineage/**");
  await page.locator(".lineage-artifact.root").waitFor();
  for (const r of [`${done}:load`, `${done}:total`, `${done}:report`])
    await page.locator(`[data-run="${r}"]`).waitFor();

  // 15. A map node's elements: three, the second FAILED (tolerated) with its error and
  // its own logs, the others with their values.
  await page.goto(`${url}/executions/${mapped}`);
  await openNode("map-square");
  const mapPanel = page.getByRole("complementary", { name: "node map-square" });
  await mapPanel.locator('[data-element="2"] code', { hasText: /^9$/ }).waitFor();
  await mapPanel.locator('[data-element="0"] code', { hasText: /^1$/ }).waitFor();
  const failedElement = mapPanel.locator('[data-element="1"]');
  await failedElement.locator('[data-status="FAILED"]').waitFor();
  await failedElement.locator("summary", { hasText: "ValueError: no square of a negative number: -2" }).click();
  await mapPanel.getByLabel("logs of element 1").filter({ hasText: "refusing -2" }).waitFor();
  await shot("map-elements");

  // 16. A subworkflow: the diamond inside `nested` is one node ("4 inside") until its
  // panel opens it; then its four nodes are drawn, left to right.
  await page.goto(`${url}/executions/${nested}`);
  const group = page.locator('.react-flow__node[data-id="diamond"]');
  await group.locator("text=4 inside").waitFor();
  if ((await page.locator(".react-flow__node").count()) !== 1)
    throw new Error("a closed subworkflow should be drawn as one node");
  await group.click();
  await page.getByRole("button", { name: "Open diamond (4 nodes inside)" }).click();
  await page.locator('.react-flow__node [data-node="diamond/report"][data-status="SUCCEEDED"]').waitFor();
  await page.locator(".react-flow__node").nth(4).waitFor();
  const xIn = async (id) => (await page.locator(`.react-flow__node[data-id="${id}"]`).boundingBox()).x;
  if (!((await xIn("diamond/load")) < (await xIn("diamond/report"))))
    throw new Error("the opened subworkflow is not drawn left to right");
  // The view is fitted again on the opened nodes: every one of them inside the pane.
  await page.waitForFunction(() => {
    const pane = document.querySelector(".dag")?.getBoundingClientRect();
    const nodes = [...document.querySelectorAll(".react-flow__node")].map((n) => n.getBoundingClientRect());
    return pane !== undefined && nodes.length >= 5 &&
      nodes.every((b) => b.left >= pane.left && b.right <= pane.right && b.top >= pane.top && b.bottom <= pane.bottom);
  }, null, { timeout: 5000 });
  await shot("subworkflow-open");

  // 17. A DataFrame output: its schema and first rows in the node's panel; its bytes
  // downloaded (a parquet file under the server's name) and the attempt's logs too; a
  // pickled output can be downloaded but has no preview.
  await page.goto(`${url}/executions/${tables}`);
  await openNode("table");
  const tablePanel = page.getByRole("complementary", { name: "node table" });
  const preview = tablePanel.getByRole("region", { name: "preview of o0" });
  await preview.locator("caption", { hasText: "80 rows × 3 columns, the first 20 shown" }).waitFor();
  await preview.locator('th[data-column="score"]', { hasText: "double" }).waitFor();
  await preview.locator("td", { hasText: /^row 19$/ }).waitFor();
  const saved = async (link) => {
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    return [download.suggestedFilename(), readFileSync(await download.path())];
  };
  const [frameName, frameBytes] = await saved(tablePanel.getByRole("link", { name: "Download o0" }));
  if (!frameName.endsWith(".parquet") || frameBytes.subarray(0, 4).toString() !== "PAR1")
    throw new Error(`the DataFrame download: ${frameName}, ${frameBytes.length} bytes`);
  const [logName, logBytes] = await saved(tablePanel.getByRole("link", { name: "Download the logs of attempt 1" }));
  if (logName !== `${tables}-table-attempt1.log` || logBytes.toString() !== "a table of 80 rows\n")
    throw new Error(`the logs download: ${logName}: ${logBytes.toString()}`);
  await shot("dataframe-preview");
  await openNode("opaque");
  const opaquePanel = page.getByRole("complementary", { name: "node opaque" });
  await opaquePanel.getByRole("link", { name: "Download o0" }).waitFor();
  await opaquePanel.locator("code", { hasText: "pickle" }).waitFor();
  if ((await opaquePanel.getByRole("region").count()) !== 0) throw new Error("a pickled value was previewed");

  // 18. A nested input (a dataclass holding a list of dataclasses): a fieldset, its
  // name a text field and its layers a checked JSON editor; a bad part refused by name
  // before sending, and a good value launched and run by the server's worker.
  await page.goto(`${url}/launch?name=wf_ui.build`);
  const netGroup = page.getByRole("group", { name: "net" });
  await netGroup.getByLabel(/^name/).fill("mlp");
  const layersField = netGroup.getByLabel(/^layers/);
  await layersField.fill('[{"width": 8}, {"width": "4"}]');
  await page.getByRole("button", { name: "Launch" }).click();
  await page.getByRole("alert").filter({ hasText: "net.layers[1].width expects int, got str" }).waitFor();
  await shot("launch-nested-refused");
  await layersField.fill('[{"width": 8}, {"width": 4, "act": "tanh"}]');
  await page.getByRole("button", { name: "Launch" }).click();
  await page.waitForURL(/\/executions\/[0-9a-f]+$/);
  await page.locator('#execution-title [data-status="SUCCEEDED"]').waitFor({ timeout: 120_000 });
  await openNode("units");
  await page
    .getByRole("complementary", { name: "node units" })
    .locator('[data-values="outputs"] code', { hasText: '"mlp: 12 units, relu,tanh"' })
    .waitFor();

  // 18b. A list of scalars: one row per item, added in the form, a bad item named
  // before sending, one removed, the list sent and run.
  await page.goto(`${url}/launch?name=wf_ui.squares`);
  const xsGroup = page.getByRole("group", { name: /^xs/ });
  for (let i = 0; i < 3; i++) await xsGroup.getByRole("button", { name: "Add an item to xs" }).click();
  await xsGroup.getByLabel("xs item 0").fill("2");
  await xsGroup.getByLabel("xs item 1").fill("two");
  await xsGroup.getByLabel("xs item 2").fill("3");
  await page.getByRole("button", { name: "Launch" }).click();
  await page.getByRole("alert").filter({ hasText: "xs[1] expects an integer, got 'two'" }).waitFor();
  await shot("launch-list-rows");
  await xsGroup.getByRole("button", { name: "Remove item 1 of xs" }).click();
  const sent = page.waitForRequest((r) => r.url().endsWith("/api/v1/launch") && r.method() === "POST");
  await page.getByRole("button", { name: "Launch" }).click();
  const xsSent = (await sent).postDataJSON().inputs.xs;
  if (JSON.stringify(xsSent) !== "[2,3]") throw new Error(`the list sent is ${JSON.stringify(xsSent)}, not [2,3]`);
  await page.waitForURL(/\/executions\/[0-9a-f]+$/);
  await page.locator('#execution-title [data-status="SUCCEEDED"]').waitFor({ timeout: 120_000 });

  // 19. A File input as an upload: the chosen file goes to POST /uploads at once, the
  // input becomes its artifact:<hash>, and the launched task reads the file.
  await page.goto(`${url}/launch?name=wf_ui.lines`);
  await page.getByLabel("upload a file for f").setInputFiles({
    name: "data.csv", mimeType: "text/csv", buffer: Buffer.from("a,b\n1,2\n3,4\n"),
  });
  await page.locator("#input-f-upload-state", { hasText: "data.csv uploaded: 12 bytes" }).waitFor();
  if (!(await page.locator("#input-f").inputValue()).startsWith("artifact:"))
    throw new Error(`the File input holds '${await page.locator("#input-f").inputValue()}', not an artifact reference`);
  await shot("launch-file-uploaded");
  await page.getByRole("button", { name: "Launch" }).click();
  await page.waitForURL(/\/executions\/[0-9a-f]+$/);
  await page.locator('#execution-title [data-status="SUCCEEDED"]').waitFor({ timeout: 120_000 });
  await page.locator('.react-flow__node [data-node="count_lines"][data-status="SUCCEEDED"]').waitFor();
  await openNode("count_lines");
  const linesPanel = page.getByRole("complementary", { name: "node count_lines" });
  await linesPanel.locator('[data-values="outputs"] code', { hasText: '"data.csv: 3 lines"' }).waitFor();
  await linesPanel.getByRole("link", { name: "Download f" }).waitFor(); // the upload, as the input
  await shot("uploaded-file-run");

  // 19a. A Directory input as an upload: a chosen folder is packed as a tar in the
  // page, POST /uploads/directory unpacks it, and the launched task reads the tree.
  const folder = join(mkdtempSync(join(tmpdir(), "rillet-e2e-")), "data");
  mkdirSync(join(folder, "sub"), { recursive: true });
  writeFileSync(join(folder, "a.txt"), "alpha\n");
  writeFileSync(join(folder, "sub", "b.txt"), "beta\n");
  await page.goto(`${url}/launch?name=wf_ui.tree`);
  await page.getByLabel("upload a folder for d").setInputFiles(folder);
  await page.locator("#input-d-upload-state", { hasText: "data uploaded:" }).waitFor();
  await shot("launch-directory-uploaded");
  await page.getByRole("button", { name: "Launch" }).click();
  await page.waitForURL(/\/executions\/[0-9a-f]+$/);
  await page.locator('#execution-title [data-status="SUCCEEDED"]').waitFor({ timeout: 120_000 });
  await openNode("list_tree");
  await page
    .getByRole("complementary", { name: "node list_tree" })
    .locator('[data-values="outputs"] code', { hasText: '"data: a.txt=alpha, sub/b.txt=beta"' })
    .waitFor();

  // 19b. A dataclass of scalars as nested fields: one widget per field, a bad one
  // named before sending, the object launched and read by the task.
  await page.goto(`${url}/launch?name=wf_ui.fit`);
  const params = page.getByRole("group", { name: "p" });
  await params.getByLabel(/^lr/).fill("fast");
  await params.getByLabel(/^depth/).fill("4");
  await params.getByLabel(/^act/).selectOption('"tanh"');
  await page.getByRole("button", { name: "Launch" }).click();
  await page.getByRole("alert").filter({ hasText: "p.lr expects a number, got 'fast'" }).waitFor();
  await shot("launch-nested-fields");
  await params.getByLabel(/^lr/).fill("0.5");
  await page.getByRole("button", { name: "Launch" }).click();
  await page.waitForURL(/\/executions\/[0-9a-f]+$/);
  await page.locator('#execution-title [data-status="SUCCEEDED"]').waitFor({ timeout: 120_000 });
  await page.locator('.react-flow__node [data-node="fit_params"][data-status="SUCCEEDED"]').waitFor();
  await openNode("fit_params");
  await page
    .getByRole("complementary", { name: "node fit_params" })
    .locator('[data-values="outputs"] code', { hasText: '"lr=0.5 depth=4 act=tanh"' })
    .waitFor();

  // 20. Previews beyond DataFrames: the tally node's inputs are an ndarray (its shape
  // and first rows), a CSV file (a table), a list of records (a table); the array of
  // objects and the binary file have none, and say why.
  await page.goto(`${url}/executions/${shapes}`);
  await openNode("tally");
  const tally = page.getByRole("complementary", { name: "node tally" });
  await tally.getByRole("region", { name: "preview of g" }).locator("caption", { hasText: "an array of shape 30 × 3, float64" }).waitFor();
  await tally.getByRole("region", { name: "preview of s" }).locator('th[data-column="name"]').waitFor();
  await tally.getByRole("region", { name: "preview of s" }).locator("td", { hasText: "row 19" }).waitFor();
  await tally.getByRole("region", { name: /(preview|records) of r/ }).locator("td", { hasText: "361" }).waitFor();
  await tally.locator("text=array of Python objects").waitFor();
  await tally.locator("text=not UTF-8 text").waitFor();
  await shot("previews-array-csv-records");

} catch (error) {
  if (page) await page.screenshot({ path: join(shots, "failure.png"), fullPage: true });
  console.error(consoleErrors.join("\n"));
  console.error(`requests pending at ${new Date().toISOString()}:\n${[...pending.values()].join("\n")}`);
  throw error;
} finally {
  await browser.close();
}
if (axeViolations.length > 0) {
  console.error(`accessibility (axe-core), serious or critical:\n${axeViolations.join("\n")}`);
  process.exit(1);
}
if (consoleErrors.length > 0) {
  console.error(`console errors:\n${consoleErrors.join("\n")}`);
  process.exit(1);
}
console.log(`e2e passed: ${step} steps`);
