// What every dashboard page must pass, checked on each page the browser tests look at, at
// 1440 px and 375 px wide: nothing wider than the screen and no text spilling out of its
// box; every control labelled and every link or button named; every interactive element
// reachable with Tab and visibly focused there; no inline script, style or handler in the
// HTML and the security headers on every page; and no console error, uncaught exception (a CSP violation is a
// console error) or failed asset.
import assert from "node:assert/strict";

export const WIDTHS = [
  { width: 1440, height: 900 },
  { width: 375, height: 812 },
];

/** What went wrong on each page outside the checks below, as the page reported it. */
const reported = new WeakMap();
const report = (page, what) => reported.get(page)?.push(what) ?? reported.set(page, [what]);

/** Listens to every page of `context`: console errors, exceptions, headers, failed assets. */
export function watch(context) {
  context.on("page", (page) => {
    page.on("console", (msg) => {
      // A page that answers 4xx on purpose (a refusal, an invalid filter) is logged so.
      const refusal = /^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text());
      if (msg.type() === "error" && !(refusal && msg.location().url === page.url())) {
        report(page, `console error on ${page.url()}: ${msg.text()}`);
      }
    });
    page.on("pageerror", (e) => report(page, `uncaught exception on ${page.url()}: ${e.message}`));
    page.on("response", (res) => {
      const req = res.request();
      if (req.isNavigationRequest()) {
        if (!(res.headers()["content-type"] || "").startsWith("text/html")) return;
        const h = res.headers();
        const csp = h["content-security-policy"] || "";
        const strict = /default-src 'none'/.test(csp) && /frame-ancestors 'none'/.test(csp) && !/unsafe-inline/.test(csp);
        if (!strict) report(page, `${res.url()}: no strict Content-Security-Policy (${csp || "none"})`);
        if (h["referrer-policy"] !== "no-referrer") report(page, `${res.url()}: Referrer-Policy is ${h["referrer-policy"]}`);
        if (h["x-content-type-options"] !== "nosniff") report(page, `${res.url()}: no X-Content-Type-Options`);
        // As the server sent it (the browser may add empty style attributes of its own).
        res.text().then((html) => {
          const inline = html.match(/<script(?![^>]*\ssrc=)[^>]*>|<style[\s>]|<[^>]+\s(style|on[a-z]+)=[^>]*>/i);
          if (inline) report(page, `${res.url()}: inline script or style: ${inline[0].slice(0, 120)}`);
        }, () => {});
      } else if (res.status() >= 400) {
        report(page, `${res.url()} answered ${res.status()}`);
      }
    });
  });
  return context;
}

/** Runs in the page: what is wrong with its layout, labels and markup, as sentences. */
function pageProblems() {
  const out = [];
  const vw = window.innerWidth;
  const text = (el) => (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().replace(/\s+/g, " ");
  const describe = (el) => {
    const cls = typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "";
    return `<${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${cls}> "${text(el).slice(0, 40)}"`;
  };
  // Inside a box that scrolls (a code block), wide content can be reached: fine. A box that
  // clips it hides it: not fine.
  const contained = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  const root = document.scrollingElement;
  if (root.scrollWidth > vw) out.push(`the page is ${root.scrollWidth - vw} px wider than the screen`);
  for (const el of document.querySelectorAll("body *")) {
    if (!el.checkVisibility() || el.matches(".skip:not(:focus)")) continue;
    const style = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if ((r.right > vw + 1 || r.left < -1) && !contained(el)) {
      out.push(`${describe(el)} reaches past the screen's edge (${Math.round(r.left)} to ${Math.round(r.right)} px)`);
    }
    const boxed = style.display !== "inline" && style.display !== "contents" && el.clientWidth > 0;
    const control = el.matches("input, select, textarea, img, svg");
    // Scrolling, or cut short with an ellipsis on purpose, is fine.
    const meant = ["auto", "scroll"].includes(style.overflowX) || style.textOverflow === "ellipsis";
    if (boxed && !control && !meant && el.scrollWidth > el.clientWidth + 1 && !contained(el)) {
      out.push(`${describe(el)}: its content is ${el.scrollWidth - el.clientWidth} px wider than its box`);
    }
  }
  for (const c of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!c.labels?.length && !c.getAttribute("aria-label") && !c.getAttribute("aria-labelledby")) {
      out.push(`${describe(c)} has no label`);
    }
  }
  for (const c of document.querySelectorAll("a[href], button, summary")) {
    if (c.checkVisibility() && !text(c)) out.push(`${describe(c)} has no name`);
  }
  return out;
}

/** Tabs through the page from its start: every interactive element is reached, and each
 *  one focused shows it (an outline or a shadow), inside the screen. */
async function keyboardProblems(page) {
  const count = await page.evaluate(() => {
    let n = 0;
    for (const el of document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]")) {
      el.removeAttribute("data-probe");
      if (el.checkVisibility() && !el.disabled && el.tabIndex >= 0) el.setAttribute("data-probe", String(n++));
    }
    // Start the Tab order at the top of the document.
    const start = document.createElement("span");
    start.tabIndex = -1;
    start.id = "probe-start";
    document.body.prepend(start);
    start.focus();
    window.scrollTo(0, 0);
    return n;
  });
  const seen = new Set();
  const out = [];
  let last = null;
  for (let i = 0; i < count + 100; i++) {
    await page.keyboard.press("Tab");
    const f = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body || el.id === "probe-start") return null;
      const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return {
        probe: el.getAttribute("data-probe"),
        what: `<${el.tagName.toLowerCase()}> "${(el.innerText || el.value || "").trim().slice(0, 40)}"`,
        shown: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== "none",
        inside: r.left >= -1 && r.right <= window.innerWidth + 1 && r.width > 0 && r.height > 0,
      };
    });
    if (f && f.probe !== null && f.probe === last) continue; // a date field's parts
    if (!f || (f.probe !== null && seen.has(f.probe))) break;
    if (f.probe !== null) seen.add(f.probe);
    last = f.probe;
    if (!f.shown) out.push(`${f.what} shows no focus when tabbed to`);
    if (!f.inside) out.push(`${f.what} is focused outside the screen`);
  }
  const missed = await page.evaluate((seen) => {
    document.getElementById("probe-start")?.remove();
    document.activeElement?.blur();
    return [...document.querySelectorAll("[data-probe]")]
      .filter((el) => !seen.includes(el.getAttribute("data-probe")))
      .map((el) => `<${el.tagName.toLowerCase()}> "${(el.innerText || el.value || "").trim().slice(0, 40)}"`);
  }, [...seen]);
  return out.concat(missed.map((m) => `${m} cannot be reached with Tab`));
}

/** After the page has reacted to a new width (app.js folds some boxes on a phone). */
export const settled = (page) => page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));

/** Every check above on `page` as it is now, at each width; fails naming what is wrong. */
export async function checkPage(page, name) {
  const found = reported.get(page)?.splice(0) ?? [];
  for (const size of WIDTHS) {
    await page.setViewportSize(size);
    await settled(page);
    const at = (p) => `${size.width} px: ${p}`;
    found.push(...(await page.evaluate(pageProblems)).map(at));
    found.push(...(await keyboardProblems(page)).map(at));
  }
  await page.setViewportSize(WIDTHS[0]);
  assert.deepEqual(found, [], `${name} (${page.url()}):\n  ${found.join("\n  ")}`);
}

/** What a page reported since it was last checked, for a test's end. */
export function assertQuiet(page) {
  const found = reported.get(page)?.splice(0) ?? [];
  assert.deepEqual(found, [], `${page.url()}:\n  ${found.join("\n  ")}`);
}
