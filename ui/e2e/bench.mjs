// The UI's browser benchmark (benchmarks/ui_bench.py starts the server, seeds the
// home, runs this script and prints the table). Times are taken in the page:
// performance.now() (from the navigation's start) on the animation frame where the
// awaited thing is first in the DOM and visible, so the paint follows that frame.
//
//   RILLET_URL=... RILLET_BENCH='{"big": ID, "live": ID, "rounds": 5, "live_nodes": 10}'
//   node e2e/bench.mjs
// Prints "READY live" when the live page watches (the Python side then ends nodes),
// and one "RESULT {...}" line at the end.
import { chromium } from "playwright-core";

const url = process.env.RILLET_URL;
const { big, live, compare, rounds, live_nodes: liveNodes, only } = JSON.parse(process.env.RILLET_BENCH ?? "{}");
const wanted = (name) => !only || only.includes(name);
if (!url || !big || !live) {
  console.error("bench.mjs: set RILLET_URL and RILLET_BENCH");
  process.exit(2);
}
const TIMEOUT = 120_000;

// On every document: note the first frame where the DAG's nodes and edges are visible,
// and the first where the executions table has rows.
const MARKS = () => {
  window.__marks = {};
  // When the compare page's answer was read (its data in).
  const fetched = window.fetch.bind(window);
  window.fetch = (...args) =>
    fetched(...args).then((res) => {
      if (/\/api\/v1\/compare\?/.test(res.url))
        res.clone().arrayBuffer().then(() => (window.__marks.dataIn = performance.now()));
      return res;
    });
  const visible = (el) => el !== null && el.checkVisibility({ visibilityProperty: true });
  const tick = () => {
    const m = window.__marks;
    if (m.dag === undefined) {
      // Painted: nodes and edges drawn where the view was fitted (React Flow first
      // draws at the identity transform, then fits the view).
      const node = document.querySelector(".react-flow__node");
      const view = document.querySelector(".react-flow__viewport");
      const fitted = view !== null && !/^translate\(0px, 0px\) scale\(1\)$/.test(view.style.transform);
      if (fitted && visible(node) && document.querySelector(".react-flow__edge") !== null) {
        m.dag = performance.now();
        m.dagNodes = document.querySelectorAll(".react-flow__node").length;
      }
    }
    if (m.list === undefined && document.querySelector("tr[data-execution]") !== null) m.list = performance.now();
    if (m.compare === undefined && document.querySelector(".compare-table tr[data-row]") !== null) {
      // Compared: the table and a drawn canvas for every metric's chart.
      const toggles = document.querySelectorAll("input[data-metric-toggle]").length;
      const drawn = document.querySelectorAll("figure[data-chart] canvas").length;
      if (toggles > 0 && drawn === toggles) m.compare = performance.now();
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
};

// In the page: do `act`, then wait frame by frame for `done`; the milliseconds between.
const timed = (page, act, done, arg) =>
  page.evaluate(
    ([actSource, doneSource, a]) =>
      new Promise((resolve, reject) => {
        const act = new Function("arg", actSource);
        const done = new Function("arg", doneSource);
        const t0 = performance.now();
        const limit = t0 + 60_000;
        act(a);
        const tick = () => {
          if (done(a)) resolve(performance.now() - t0);
          else if (performance.now() > limit) reject(new Error(`timed out: ${doneSource}`));
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    [act, done, arg],
  );

const fetchMs = (page, path) =>
  page.evaluate(async (p) => {
    const t0 = performance.now();
    const r = await fetch(p);
    await r.json();
    return performance.now() - t0;
  }, path);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const out = { dag: [], dag_api: [], dag_nodes: 0, list: [], older: [], page_api: [], filter: [], filter_api: [],
  compare: [], compare_data: [], compare_api: [], compare_details: [], toggle: [] };
const errors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript(MARKS);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

  // First load of /: the files it fetches (their sizes are read by the Python side).
  const first = new Set();
  const onRequest = (r) => {
    const u = new URL(r.url());
    if (u.origin === new URL(url).origin && !u.pathname.startsWith("/api/")) first.add(u.pathname);
  };
  page.on("request", onRequest);
  await page.goto(url, { waitUntil: "networkidle" });
  page.off("request", onRequest);
  out.first_load = [...first];

  const marked = (name) => page.waitForFunction((n) => window.__marks[n] !== undefined, name).then(() =>
    page.evaluate((n) => window.__marks[n], name));

  for (let r = 0; r < (wanted("dag") || wanted("list") ? rounds : 0); r++) {
    // The 1,000-node DAG, from navigation to painted.
    await page.goto(`${url}/executions/${big}`);
    out.dag.push(await marked("dag"));
    out.dag_nodes = await page.evaluate(() => window.__marks.dagNodes);
    out.dag_api.push(await fetchMs(page, `/api/v1/executions/${big}`));
    console.log(`round ${r + 1}: dag ${out.dag.at(-1).toFixed(0)} ms (${out.dag_nodes} nodes in the DOM)`);

    // The list: first page; then Older, three times (100 -> 400 rows).
    await page.goto(url);
    out.list.push(await marked("list"));
    await page.locator("tr[data-execution]").nth(99).waitFor();
    for (let k = 1; k <= 3; k++) {
      out.older.push(
        await timed(
          page,
          "document.querySelector('button.more').click()",
          // The table holds the new page: its rows laid out (past 200, the rows in
          // view are drawn and the rest is space of the rows' height).
          "const s = document.querySelector('.list-scroll'); return s !== null && s.scrollHeight >= arg",
          (k + 1) * 100 * 40,
        ),
      );
      await page.locator("button.more:not([disabled])").waitFor();
    }
    out.page_api.push(await fetchMs(page, "/api/v1/executions?limit=100"));

    // A status filter on a fresh page (nothing cached).
    const status = ["FAILED", "ABORTED", "SUCCEEDED"][r % 3];
    await page.goto(url);
    await page.locator("tr[data-execution]").nth(99).waitFor();
    out.filter.push(
      await timed(
        page,
        `const s = document.querySelector('select[name=status]');
         Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(s, arg);
         s.dispatchEvent(new Event('change', { bubbles: true }));`,
        `const rows = [...document.querySelectorAll('tr[data-execution] [data-status]')];
         return rows.length > 0 && rows.every((e) => e.getAttribute('data-status') === arg);`,
        status,
      ),
    );
    out.filter_api.push(await fetchMs(page, `/api/v1/executions?status=${status}&limit=100`));
    console.log(`round ${r + 1}: older ${out.older.slice(-3).map((v) => v.toFixed(0)).join("/")} ms, ` +
      `filter ${status} ${out.filter.at(-1).toFixed(0)} ms`);
  }

  // Compare: many executions with long metric curves; then a metric hidden and shown.
  for (let r = 0; r < (wanted("compare") && compare?.length ? rounds : 0); r++) {
    await page.goto(`${url}/compare?ids=${compare.join(",")}`);
    out.compare.push(await marked("compare"));
    out.compare_data.push(await page.evaluate(() => window.__marks.dataIn));
    out.compare_api.push(await fetchMs(page, `/api/v1/compare?ids=${compare.join(",")}`));
    // For the record: the same data as one detail answer per execution (before round 6).
    out.compare_details.push(
      await page.evaluate(async (ids) => {
        const t0 = performance.now();
        await Promise.all(ids.map((id) => fetch(`/api/v1/executions/${id}`).then((res) => res.json())));
        return performance.now() - t0;
      }, compare),
    );
    const box = "document.querySelector('input[data-metric-toggle=\"train.accuracy\"]').click()";
    const chart = "document.querySelector('figure[data-chart=\"train.accuracy\"] canvas')";
    await timed(page, box, `return ${chart} === null`);
    out.toggle.push(await timed(page, box, `return ${chart} !== null`));
    console.log(`round ${r + 1}: compare ${compare.length} ${out.compare.at(-1).toFixed(0)} ms ` +
      `(data in at ${out.compare_data.at(-1).toFixed(0)} ms) ` +
      `(its answer ${out.compare_api.at(-1).toFixed(0)} ms; ${compare.length} detail answers ` +
      `${out.compare_details.at(-1).toFixed(0)} ms), toggle ${out.toggle.at(-1).toFixed(0)} ms`);
  }

  // Live: the running execution's page watches its nodes; the Python side ends them.
  if (wanted("live")) {
    await page.goto(`${url}/executions/${live}`);
    await marked("dag");
    await page.evaluate(() => {
      window.__shown = {};
      new MutationObserver((records) => {
        const at = performance.timeOrigin + performance.now();
        for (const r of records) {
          const el = r.target;
          const id = el.getAttribute?.("data-node");
          if (id && el.getAttribute("data-status") === "SUCCEEDED" && window.__shown[id] === undefined)
            window.__shown[id] = at;
        }
      }).observe(document.body, { attributes: true, attributeFilter: ["data-status"], subtree: true });
    });
    // The running nodes in view (a big DAG draws only those): the Python side ends them.
    const inView = (
      await page.evaluate(() =>
        [...document.querySelectorAll('.react-flow__node [data-status="RUNNING"]')].map((e) => e.getAttribute("data-node")),
      )
    ).slice(0, liveNodes);
    console.log(`READY live ${inView.join(" ")}`);
    await page.waitForFunction((n) => Object.keys(window.__shown).length >= n, inView.length, { timeout: TIMEOUT });
    out.live_shown = await page.evaluate(() => window.__shown);
  }
} finally {
  await browser.close();
}
if (errors.length > 0) console.log(`page errors: ${errors.join(" | ")}`);
console.log(`RESULT ${JSON.stringify(out)}`);
