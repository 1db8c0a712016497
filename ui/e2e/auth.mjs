// End to end against `rillet server --auth` (tests/ui/test_ui_auth_e2e.py starts it):
// the UI asks for a token, refuses a bad one, signs in with a viewer's token, shows the
// server's 403s as clear lines, signs out, and signs in as an admin. A screenshot per
// step after an axe-core check (no serious or critical violation); no console error
// but the browser's own lines for the 401/403 answers this test asks for.
//
//   RILLET_URL=... RILLET_SHOTS=DIR RILLET_E2E='{"done": ID, "admin": T, "viewer": T}' node e2e/auth.mjs
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const url = process.env.RILLET_URL;
const shots = process.env.RILLET_SHOTS ?? "e2e/out-auth";
const { done, admin, viewer } = JSON.parse(process.env.RILLET_E2E ?? "{}");
if (!url || !done || !admin || !viewer) {
  console.error('auth.mjs: set RILLET_URL and RILLET_E2E ({"done", "admin", "viewer"})');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const problems = [];
let step = 0;
let page;
try {
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(60_000);
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 40[13]/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const shot = async (name) => {
    if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE });
    const serious = await page.evaluate(async () =>
      (await window.axe.run(document, { resultTypes: ["violations"] })).violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id}: ${v.help}`),
    );
    for (const v of serious) problems.push(`axe ${name}: ${v}`);
    step += 1;
    await page.screenshot({ path: join(shots, `${String(step).padStart(2, "0")}-${name}.png`), fullPage: true });
  };
  const alert = (text) => page.getByRole("alert").filter({ hasText: text }).waitFor();
  const signIn = async (token) => {
    await page.getByLabel("Token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
  };
  const row = (id) => page.locator(`tr[data-execution="${id}"]`);

  // 1. No token: the server's 401 line, and the form asking for one.
  await page.goto(url);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await alert("this server needs a token");
  await shot("sign-in");

  // 2. A bad token is refused by the server, said in one line.
  await signIn("not-a-token");
  await alert("the token is not valid (unknown or revoked)");

  // 3. A viewer of project default may not list every project: the 403, clearly.
  await signIn(viewer);
  await alert("not allowed (403)");
  await alert("may list one project at a time");
  if ((await page.evaluate(() => sessionStorage.getItem("rillet.token"))) !== viewer)
    throw new Error("the token is not kept in sessionStorage");
  await shot("viewer-refused-all-projects");
  // With the project filter, the list answers, with the header on every call.
  await page.getByLabel("Project").fill("default");
  await row(done).waitFor();

  // 4. The execution's page (a viewer may see it; its DAG). The server says who the
  // token is (GET /whoami: viewer of default): no Launch page, no Recover, Relaunch or
  // Re-run is offered; the server still refuses a recovery asked for anyway.
  const me = await page.evaluate(async (t) =>
    (await fetch("/api/v1/whoami", { headers: { authorization: `Bearer ${t}` } })).json(), viewer);
  if (JSON.stringify(me.roles) !== '{"default":"viewer"}' || me.admin) throw new Error(`whoami: ${JSON.stringify(me)}`);
  await row(done).getByRole("link").click();
  await page.locator('.react-flow__node [data-status="SUCCEEDED"]').nth(3).waitFor();
  await page.getByRole("link", { name: "Versions" }).waitFor();
  for (const name of ["Recover", "Relaunch", "Abort"])
    if ((await page.getByRole("button", { name }).count()) !== 0) throw new Error(`a viewer is offered ${name}`);
  if ((await page.getByRole("link", { name: "Launch", exact: true }).count()) !== 0)
    throw new Error("a viewer is offered the Launch page");
  await page.locator('.react-flow__node[data-id="total"]').click();
  await page.getByRole("complementary", { name: "node total" }).waitFor();
  if ((await page.getByRole("button", { name: "Re-run from this node" }).count()) !== 0)
    throw new Error("a viewer is offered a re-run");
  const refused = await page.evaluate(async ([id, t]) => {
    const r = await fetch(`/api/v1/executions/${id}/recover`, { method: "POST", headers: { authorization: `Bearer ${t}` } });
    return [r.status, (await r.json()).error];
  }, [done, viewer]);
  if (refused[0] !== 403 || !refused[1].includes("needs the role launcher")) throw new Error(`recover as a viewer: ${refused}`);
  await shot("viewer-sees-no-actions");

  // 5. Sign out: the form again, the token gone from the tab.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  if ((await page.evaluate(() => sessionStorage.getItem("rillet.token"))) !== null)
    throw new Error("sign-out left the token in sessionStorage");

  // 6. An admin lists every project.
  await page.goto(url);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await signIn(admin);
  await row(done).waitFor();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  await page.getByRole("link", { name: "Launch", exact: true }).waitFor(); // an admin may launch
  await shot("admin-list");
  await row(done).getByRole("link").click();
  await page.getByRole("button", { name: "Recover" }).waitFor();
  await page.getByRole("button", { name: "Relaunch" }).waitFor();
} catch (error) {
  if (page) await page.screenshot({ path: join(shots, "failure.png"), fullPage: true });
  console.error(problems.join("\n"));
  throw error;
} finally {
  await browser.close();
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`auth e2e passed: ${step} steps`);
