// The dashboard in a real browser: Debian's headless Chromium driven by playwright-core.
// Starts `scanhook serve` (SCANHOOK_BIN, else target/debug/scanhook) on a fresh data
// directory and a receiver of its own on 127.0.0.1, then goes through what a user does.
// Screenshots of every page at 375 px and 1440 px go to target/screenshots/, and every
// page shown passes checks.mjs (layout, keyboard, labels, CSP) at both widths.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { WIDTHS, checkPage, settled, watch } from "./checks.mjs";

const root = resolve(import.meta.dirname, "../..");
const bin = process.env.SCANHOOK_BIN || join(root, "target/debug/scanhook");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = join(root, "target/screenshots");
const adminKey = "shk_browser_test_admin_key_0123456789";

let server, base, receiver, receiverUrl, browser, dataDir;
const received = [];
let failing = false;

function startReceiver() {
  return new Promise((ok) => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push({ headers: req.headers, body });
        // `/down` always fails, for an endpoint whose deliveries die.
        const down = failing || req.url.startsWith("/down");
        res.writeHead(down ? 500 : 200, { "content-type": "application/json" });
        res.end(down ? '{"error":"receiver is down"}' : '{"ok":true}');
      });
    });
    receiver.listen(0, "127.0.0.1", () => {
      receiverUrl = `http://127.0.0.1:${receiver.address().port}/hooks`;
      ok();
    });
  });
}

function startServer() {
  dataDir = mkdtempSync(join(tmpdir(), "scanhook-browser-"));
  server = spawn(bin, ["serve"], {
    env: {
      PATH: process.env.PATH,
      SCANHOOK_LISTEN: "127.0.0.1:0",
      SCANHOOK_DATA_DIR: dataDir,
      SCANHOOK_API_KEY: adminKey,
      SCANHOOK_ALLOW_PRIVATE_NETWORKS: "true",
      SCANHOOK_DISABLE_AFTER: "1",
      SCANHOOK_RETRY_SCHEDULE: "0s",
      SCANHOOK_POLL_INTERVAL: "200ms",
      SCANHOOK_BRAND_NAME: "Acme Security",
      SCANHOOK_BRAND_COLOR: "#0f766e",
      SCANHOOK_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("scanhook did not start in 20 s")), 20000);
    let out = "";
    server.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m && !base) {
        base = m[1];
        clearTimeout(timer);
        ok();
      }
    });
    server.on("exit", (code) => fail(new Error(`scanhook exited with ${code}`)));
  });
}

async function api(method, path, key, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Screenshots of the page as it is, at 1440 px and at 375 px wide; then its checks. */
async function shot(page, name) {
  for (const size of WIDTHS) {
    await page.setViewportSize(size);
    await settled(page);
    await page.screenshot({ path: join(shots, `${name}-${size.width}.png`), fullPage: true });
  }
  await checkPage(page, name);
}

/** A fresh browser context whose pages are watched (checks.mjs). */
const newContext = async (options = { viewport: WIDTHS[0] }) => watch(await browser.newContext(options));

/** Reloads until `text` shows, for what the dispatcher does in the background. */
async function waitForText(page, text, ms = 15000) {
  const until = Date.now() + ms;
  while (!(await page.getByText(text, { exact: false }).count())) {
    assert.ok(Date.now() < until, `"${text}" did not appear on ${page.url()}`);
    await page.waitForTimeout(300);
    await page.reload();
  }
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  await startReceiver();
  await startServer();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  receiver?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test("sign in, add an endpoint, copy its secret, test it, read the attempt, survive auto-disable", async () => {
  const context = await newContext();
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = await context.newPage();

  await page.goto(base + "/");
  assert.match(page.url(), /\/sign-in$/);
  await page.fill("#api_key", "shk_not_a_key_of_anyone_here");
  await page.click("button[type=submit]");
  assert.equal(await page.locator("#api_key-error").innerText(), "That API key is not valid.");
  await shot(page, "01-sign-in-error");
  await page.fill("#api_key", adminKey);
  await page.click("button[type=submit]");
  assert.match(page.url(), /\/endpoints$/);
  await page.getByText("No endpoints yet").waitFor();
  assert.ok((await page.title()).includes("Acme Security"));
  await shot(page, "02-endpoints-empty");

  await page.getByRole("link", { name: "Add your first endpoint" }).click();
  await shot(page, "03-add-endpoint");
  await page.locator("details.advanced > summary").click();
  await shot(page, "03-add-endpoint-advanced");
  await page.fill("#url", "ftp://nowhere");
  await page.click("button:has-text('Add endpoint')");
  assert.match(await page.locator("#url-error").innerText(), /http/i);
  await shot(page, "04-add-endpoint-error");
  await page.fill("#url", receiverUrl);
  await page.fill("#events", "*");
  await page.fill("#description", "Security team's intake");
  await page.click("button:has-text('Add endpoint')");
  await page.getByRole("heading", { name: "Endpoint added" }).waitFor();
  const secret = await page.inputValue("#secret");
  assert.match(secret, /^whsec_/);
  await page.click("button[data-copy=secret]");
  await page.getByRole("button", { name: "Copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await shot(page, "05-endpoint-added");

  await page.getByRole("link", { name: "Open the endpoint" }).click();
  const endpointUrl = page.url();
  await shot(page, "06-endpoint");
  await page.click("button:has-text('Send test event')");
  assert.match(page.url(), /\/deliveries\/dlv_/);
  await waitForText(page, "Attempt 1");
  assert.ok(await page.getByText("HTTP 200").first().isVisible());
  assert.ok(received.length >= 1 && received.at(-1).headers["webhook-signature"], "the receiver got a signed request");
  await shot(page, "07-delivery");

  // The endpoints list shows it with its last delivery.
  await page.goto(base + "/endpoints");
  assert.ok(await page.getByRole("link", { name: receiverUrl }).isVisible());
  await shot(page, "08-endpoints");

  // Fails until disabled, then re-enabled.
  // (Test events never disable an endpoint: a real one does.)
  failing = true;
  await api("POST", "/v1/events", adminKey, { type: "scan.completed", data: { project: "web" } });
  await page.goto(endpointUrl);
  await waitForText(page, "Disabled after failures");
  await shot(page, "09-endpoint-disabled");
  failing = false;
  await page.click("button:has-text('Re-enable')");
  await page.locator(".state .badge.ok", { hasText: "Active" }).waitFor();
  await page.click("button:has-text('Rotate secret')");
  await page.getByRole("heading", { name: "New signing secret" }).waitFor();
  await shot(page, "09-new-secret");
  await page.getByRole("link", { name: "Back to the endpoint" }).click();

  // A form posted without the CSRF token, or from another site, is refused.
  const id = endpointUrl.split("/").at(-1);
  const bare = await context.request.post(`${base}/endpoints/${id}/switch`, { form: { x: "1" } });
  assert.equal(bare.status(), 403);
  const csrf = await page.locator("input[name=csrf]").first().inputValue();
  const foreign = await context.request.post(`${base}/endpoints/${id}/switch`, {
    form: { csrf },
    headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
  });
  assert.equal(foreign.status(), 403);
  await page.reload();
  assert.ok(await page.locator(".state .badge.ok", { hasText: "Active" }).isVisible(), "nothing changed");

  // The advanced settings, by keyboard: open the part, set a few, save; the API has them.
  const advanced = page.locator("details.advanced");
  assert.equal(await advanced.getAttribute("open"), null, "closed while nothing in it is set");
  await page.locator("details.advanced > summary").focus();
  await page.keyboard.press("Enter");
  assert.notEqual(await advanced.getAttribute("open"), null);
  assert.ok(!(await page.locator("#cloudevents_source").isVisible()), "CloudEvents options wait for that format");
  await page.selectOption("#kind", "cloudevents");
  await page.fill("#cloudevents_source", "/browser-test");
  await page.fill("#timeout", "0");
  await page.click("button:has-text('Save changes')");
  assert.match(await page.locator("#timeout-error").innerText(), /1 to 30 seconds/);
  await shot(page, "11-endpoint-settings-error");
  await page.fill("#timeout", "9");
  await page.selectOption("#min_severity", "high");
  await page.fill("#header_prefix", "X-Acme");
  assert.ok(!(await page.locator("#signature_header").isVisible()), "HMAC options wait for that scheme");
  await page.selectOption("#signature", "hmac-sha256");
  await page.fill("#signature_header", "X-Acme-Signature");
  await page.click("button:has-text('Save changes')");
  await page.waitForURL(endpointUrl);
  const saved = await api("GET", `/v1/webhooks/${id}`, adminKey);
  assert.equal(saved.timeout, 9);
  assert.equal(saved.kind, "cloudevents");
  assert.deepEqual(saved.cloudevents, { mode: "structured", source: "/browser-test" });
  assert.equal(saved.min_severity, "high");
  assert.equal(saved.header_prefix, "X-Acme");
  assert.deepEqual(saved.signature, { scheme: "hmac-sha256", header: "X-Acme-Signature", prefix: "", encoding: "hex" });
  assert.equal(saved.description, "Security team's intake", "what was not touched stays");
  assert.notEqual(await advanced.getAttribute("open"), null, "open while something in it is set");
  assert.equal(await page.inputValue("#timeout"), "9");
  await page.locator("section.card", { hasText: "Settings" }).last().scrollIntoViewIfNeeded();
  await shot(page, "11-endpoint-settings");

  // Delete with confirmation.
  await page.getByRole("link", { name: "Delete" }).click();
  await shot(page, "10-delete-confirm");
  await page.getByRole("link", { name: "Keep it" }).click();
  assert.equal(page.url(), endpointUrl);

  // An address that is no page says so as a page; the API's answers stay JSON.
  const missing = await page.goto(base + "/endpoint");
  assert.equal(missing.status(), 404);
  await page.getByText("There is no page at this address.").waitFor();
  await shot(page, "26-not-found");
  const apiMissing = await context.request.get(base + "/v1/nothing-here", { headers: { accept: "text/html" } });
  assert.equal(apiMissing.status(), 404);
  assert.match(apiMissing.headers()["content-type"], /problem\+json/);
  await context.close();
});

test("the delivery log filters by status; an endpoint's dead letters are replayed", async () => {
  const down = await api("POST", "/v1/webhooks", adminKey, {
    // Long enough to test every page's wrapping at 375 px.
    url: receiverUrl.replace(/\/hooks$/, `/down/${"a-rather-long-path-segment/".repeat(4)}?token=${"0123456789".repeat(6)}`),
    events: ["scan.*"],
    description: "Always failing: the receiver behind it answers 500 to everything, so every delivery dies",
  });
  await api("POST", "/v1/events", adminKey, { type: "scan.started", data: { project: "api" } });
  const until = Date.now() + 15000;
  let dead = [];
  while (!dead.length) {
    assert.ok(Date.now() < until, "the failing endpoint's delivery did not die");
    await new Promise((ok) => setTimeout(ok, 200));
    dead = (await api("GET", `/v1/deliveries?webhook_id=${down.id}&status=dead`, adminKey)).data;
  }
  const allDead = (await api("GET", "/v1/deliveries?status=dead", adminKey)).data;

  const context = await newContext();
  const page = await context.newPage();
  await page.goto(base + "/sign-in");
  await page.fill("#api_key", adminKey);
  await page.click("button[type=submit]");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deliveries" }).click();
  assert.match(page.url(), /\/deliveries$/);
  await page.getByRole("heading", { name: "Deliveries" }).waitFor();
  await shot(page, "11-deliveries");

  await page.selectOption("#status", "dead");
  await page.click("button:has-text('Filter')");
  assert.match(page.url(), /status=dead/);
  assert.equal(await page.locator("table.list tbody tr").count(), allDead.length);
  assert.equal(await page.locator("table.list .badge.bad").count(), allDead.length);
  await shot(page, "12-deliveries-failed");
  await page.locator("table.list tbody tr").first().getByRole("link").first().click();
  await page.getByText("HTTP 500").first().waitFor();
  await shot(page, "12-delivery-failed");

  await page.goto(base + "/deliveries?since=2999-01-01T00%3A00");
  await page.getByText("No deliveries match these filters").waitFor();
  await shot(page, "12-deliveries-none-match");
  await page.goto(base + "/deliveries?event_type=Not%20a%20type");
  assert.ok(await page.locator("#event_type-error").isVisible(), "the API's error is beside the field");
  await shot(page, "13-deliveries-invalid-filter");

  await page.goto(`${base}/endpoints/${down.id}`);
  await shot(page, "13-endpoint-failing");
  await page.getByRole("link", { name: "All deliveries of this endpoint" }).click();
  assert.match(page.url(), new RegExp(`webhook_id=${down.id}`));
  assert.equal(await page.locator("table.list tbody tr").count(), dead.length);
  await page.goBack();
  await page.click("button:has-text('Replay dead letters')");
  await page.getByRole("heading", { name: "Dead letters replayed" }).waitFor();
  const said = dead.length === 1 ? "1 dead delivery is queued" : `${dead.length} dead deliveries are queued`;
  assert.ok(await page.getByText(said).isVisible(), said);
  await shot(page, "14-replayed");
  await context.close();
});

test("a read-only portal link sees only its own account, once", async () => {
  const account = await api("POST", "/v1/accounts", adminKey, { name: "Tenant B" });
  const key = account.api_key.key;
  await api("POST", "/v1/webhooks", key, { url: receiverUrl + "/tenant-b", events: ["scan.*"] });
  const link = await api("POST", "/v1/portal-links", key, { read_only: true });
  assert.ok(link.url.startsWith(base + "/portal/"), link.url);

  const context = await newContext();
  const page = await context.newPage();
  await page.goto(link.url);
  await shot(page, "27-portal-continue");
  await page.click("button:has-text('Continue')");
  assert.match(page.url(), /\/endpoints$/);
  assert.ok(await page.getByRole("link", { name: receiverUrl + "/tenant-b" }).isVisible());
  assert.equal(await page.getByRole("link", { name: receiverUrl, exact: true }).count(), 0, "another account's endpoint");
  assert.equal(await page.getByRole("link", { name: "Add endpoint" }).count(), 0);
  assert.ok(await page.getByText("Read-only").isVisible());
  await shot(page, "28-portal-endpoints");

  // The API refuses a change even when a form is forged with the right CSRF token.
  await page.getByRole("link", { name: receiverUrl + "/tenant-b" }).click();
  await shot(page, "29-portal-endpoint");
  const id = page.url().split("/").at(-1);
  const csrf = await page.locator("input[name=csrf]").first().inputValue();
  const forged = await context.request.post(`${base}/endpoints/${id}/switch`, { form: { csrf } });
  assert.equal(forged.status(), 403);

  // What a new account sees before anything happened.
  for (const [path, says] of [
    ["/deliveries", "No deliveries yet"],
    ["/events", "No events yet"],
    ["/projects", "No projects"],
  ]) {
    await page.goto(base + path);
    await page.getByRole("heading", { name: says }).waitFor();
    await shot(page, `29-portal-empty${path.replace("/", "-")}`);
  }

  // Used once.
  const again = await (await newContext()).newPage();
  await again.goto(link.url);
  await again.click("button:has-text('Continue')");
  await again.getByText("expired or was already used").waitFor();
  await shot(again, "30-portal-used");
  await context.close();
});

test("events, the catalogue, a project's scans and violations, and the audit log read well", async () => {
  const project = await api("POST", "/v1/projects", adminKey, { name: "web shop", target: "https://github.com/acme/web-shop" });
  // A long name and target, for the pages' wrapping at 375 px.
  await api("POST", "/v1/projects", adminKey, {
    name: "the customer-facing storefront and its payment service, including the legacy checkout",
    target: `https://github.com/acme/${"storefront-".repeat(12)}checkout`,
  });
  const finding = (rule, severity, line) => ({
    rule, severity, file: "src/checkout/payment-form.js", line, message: `${rule}: user input reaches a sensitive sink unescaped`,
  });
  const first = await api("POST", "/v1/scans", adminKey, { project: project.id, rules: ["owasp", "gdpr"] });
  await api("POST", `/v1/scans/${first.id}/complete`, adminKey, {
    findings: [finding("sql-injection", "critical", 12), finding("xss", "high", 40), finding("cookie-flags", "medium", 7)],
    score: 58, grade: "D",
  });
  const second = await api("POST", "/v1/scans", adminKey, { project: project.id, rules: ["owasp"] });
  await api("POST", `/v1/scans/${second.id}/complete`, adminKey, {
    findings: [finding("xss", "high", 40), finding("cookie-flags", "medium", 7)], score: 74, grade: "C",
  });
  await api("POST", "/v1/alerts", adminKey, {
    project: project.id, alert_type: "cert_expiring_soon", severity: "high",
    title: "Certificate expires in 5 days", message: "shop.example.com's certificate expires on 2026-12-04",
  });

  const context = await newContext();
  const page = await context.newPage();
  await page.goto(base + "/sign-in");
  await page.fill("#api_key", adminKey);
  await page.click("button[type=submit]");

  await page.getByRole("link", { name: "Events", exact: true }).click();
  assert.match(page.url(), /\/events$/);
  await page.getByText("alert.triggered").first().waitFor();
  await shot(page, "15-events");
  await page.fill("#since", "2020-01-01T00:00");
  await page.click("button:has-text('Filter')");
  assert.match(page.url(), /since=2020-01-01T00%3A00/);
  await page.getByText("alert.triggered").first().waitFor();
  await page.goto(base + "/events?type=alert.triggered&since=yesterday");
  await page.locator("#since-error", { hasText: "is not a date and time" }).waitFor();
  await shot(page, "15b-events-bad-time");
  await page.getByRole("link", { name: "Clear" }).click();
  await page.fill("#type", "alert.triggered");
  await page.click("button:has-text('Filter')");
  assert.match(page.url(), /type=alert\.triggered/);
  await page.locator("td a.mono").first().click();
  assert.match(page.url(), /\/events\/evt_/);
  await page.getByText('"title": "Certificate expires in 5 days"').waitFor();
  await shot(page, "16-event");

  await page.getByRole("link", { name: "Event types" }).click();
  await page.locator("section#scan\\.completed").waitFor();
  await page.locator("section#scan\\.completed summary", { hasText: "Example" }).click();
  await shot(page, "17-event-types");

  await page.getByRole("link", { name: "Projects" }).click();
  await shot(page, "18-projects");
  await page.getByRole("link", { name: "web shop" }).click();
  await page.getByText("Certificate expires in 5 days").waitFor();
  assert.ok(await page.getByText("sql-injection").first().isVisible(), "the resolved one is listed");
  await shot(page, "19-project");
  await page.locator("nav.counts a", { hasText: "medium" }).click();
  assert.match(page.url(), /severity=medium#open$/);
  await page.locator("nav.counts a[aria-current]", { hasText: "medium" }).waitFor();
  assert.ok(await page.getByText("cookie-flags").first().isVisible(), "the medium one is listed");
  await shot(page, "19b-project-medium");

  await page.getByRole("link", { name: "Audit log" }).click();
  await shot(page, "20-audit");
  await page.selectOption("#action", "webhook.created");
  await page.click("button:has-text('Filter')");
  assert.match(page.url(), /action=webhook\.created/);
  await page.locator("code.tag", { hasText: "webhook.created" }).first().waitFor();
  await shot(page, "20b-audit-filtered");
  await context.close();

  // A portal session limited to some event types is told what it cannot see.
  const link = await api("POST", "/v1/portal-links", adminKey, {
    event_types: ["scan.*", "violation.detected", "violation.resolved", "alert.triggered", "score.changed"],
  });
  const portal = await (await newContext()).newPage();
  await portal.goto(link.url);
  await portal.click("button:has-text('Continue')");
  await portal.goto(base + "/events");
  await portal.getByText("so it cannot see events.").waitFor();
  await shot(portal, "21-portal-events-refused");
});

test("the admin lists accounts and creates one whose key is copied once; a portal session never sees the page", async () => {
  const context = await newContext();
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = await context.newPage();
  await page.goto(base + "/sign-in");
  await page.fill("#api_key", adminKey);
  await page.click("button[type=submit]");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
  assert.match(page.url(), /\/accounts$/);
  await page.getByRole("heading", { name: "Accounts", exact: true }).waitFor();
  assert.ok(await page.getByRole("cell", { name: "Tenant B" }).isVisible(), "the portal test's account is listed");
  await shot(page, "22-accounts");

  await page.fill("#name", "   ");
  await page.click("button:has-text('Create account')");
  assert.ok(await page.locator("#name-error").isVisible(), "the API's refusal beside the field");
  await shot(page, "23-accounts-invalid");
  await page.fill("#name", "Globex Corporation");
  await page.click("button:has-text('Create account')");
  await page.getByRole("heading", { name: "Account created" }).waitFor();
  const key = await page.inputValue("#api_key");
  assert.ok(key.length >= 16, key);
  await page.click("button[data-copy=api_key]");
  await page.getByRole("button", { name: "Copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  await shot(page, "24-account-created");
  const mine = await api("GET", "/v1/webhooks", key);
  assert.deepEqual(mine.data, [], "the new key opens the new, empty account");
  await page.getByRole("link", { name: "Back to the accounts" }).click();
  assert.ok(await page.getByRole("cell", { name: "Globex Corporation" }).isVisible());
  assert.equal(await page.locator("#api_key").count(), 0, "the key is not shown again");
  await context.close();

  // A portal session, even into the admin's own account, has no link and is refused.
  const link = await api("POST", "/v1/portal-links", adminKey, {});
  const portal = await (await newContext()).newPage();
  await portal.goto(link.url);
  await portal.click("button:has-text('Continue')");
  assert.equal(await portal.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).count(), 0);
  const refused = await portal.goto(base + "/accounts");
  assert.equal(refused.status(), 403);
  await portal.getByText("only the admin API key").waitFor();
  await shot(portal, "25-accounts-refused");
});
