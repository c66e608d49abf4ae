// Drives the built site in Debian's chromium (headless, WebGPU on
// SwiftShader) through playwright-core, and prints what the page reported
// as one JSON object on stdout. The Rust test tests/web.rs runs it and
// compares the digest with `numasim run`'s.
//
//   node web/test/browser.mjs --site web/dist --out DIR \
//        [--scenario small] [--seed 7] [--ticks 40] [--webgpu on|off] \
//        [--exec "cat /proc/buddyinfo"] [--bad-file PATH] [--run-seconds S]
//        [--query "scenario=1tib&seed=x"]
//
// --webgpu off starts chromium without --enable-unsafe-webgpu (on Linux it
// then has navigator.gpu but no adapter); --webgpu absent also removes
// navigator.gpu (a browser without the API). Either way the page must fall
// back to the CPU reference. --run-seconds S (without
// --ticks) lets the page run freely for S seconds and reports ticks/s.
// Never downloads a browser: CHROMIUM or /usr/bin/chromium is used.

import { chromium } from "playwright-core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { serve } from "../serve.mjs";

function args() {
  const a = { scenario: "small", seed: "7", webgpu: "on", exec: [], timeout: "300" };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) {
    const k = v[i].replace(/^--/, "").replace(/-./g, (m) => m[1].toUpperCase());
    if (v[i + 1] === undefined) throw new Error(`${v[i]}: missing value`);
    if (k === "exec") a.exec.push(v[i + 1]);
    else a[k] = v[i + 1];
  }
  if (!a.site || !a.out) throw new Error("--site DIR and --out DIR are required");
  if (!["on", "off", "absent"].includes(a.webgpu))
    throw new Error(`--webgpu ${a.webgpu}: expected on, off or absent`);
  return a;
}

const a = args();
const timeout = Number(a.timeout) * 1000;
const server = await serve(a.site, 0);
const port = server.address().port;
const profile = mkdtempSync(join(tmpdir(), "numasim-chromium-"));
const flags = [
  "--no-sandbox",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  // The canvas shows in screenshots only with these three.
  "--use-angle=swiftshader",
  "--use-vulkan=swiftshader",
  "--enable-features=Vulkan",
  // Chromium on Linux offers a WebGPU adapter only with this flag; without
  // it navigator.gpu exists but requestAdapter() finds none.
  ...(a.webgpu === "on" ? ["--enable-unsafe-webgpu"] : []),
];
const log = [];
let browser;
const out = { webgpu_flag: a.webgpu };
try {
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: flags,
    viewport: { width: 1280, height: 800 },
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  if (a.webgpu === "absent") {
    // A browser without the WebGPU API at all.
    await page.addInitScript(() => delete Navigator.prototype.gpu);
  }
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e}`));
  // --query replaces the whole query (bad-parameter tests).
  const q = new URLSearchParams(a.query ?? { scenario: a.scenario, seed: a.seed });
  if (a.ticks && !a.query) q.set("ticks", a.ticks);
  const url = `http://127.0.0.1:${port}/?${q}`;
  const t0 = Date.now();
  await page.goto(url);
  const state = () =>
    page.evaluate(() => {
      const el = document.getElementById("numasim-state");
      return Object.fromEntries([...el.attributes].map((x) => [x.name.replace(/^data-/, ""), x.value]));
    });
  out.has_navigator_gpu = await page.evaluate(() => "gpu" in navigator);
  await page.waitForFunction(
    () => {
      const el = document.getElementById("numasim-state");
      return el.dataset.ready === "1" || el.dataset.fatal;
    },
    null,
    { timeout },
  );
  let s = await state();
  if (s.fatal) throw new Error(`the page failed to start: ${s.fatal}`);
  if (a.ticks) {
    await page.waitForFunction(
      (t) => {
        const d = document.getElementById("numasim-state").dataset;
        return d.digestTick === t || d.fatal || (d.error && d.running === "false");
      },
      a.ticks,
      { timeout, polling: 100 },
    );
    out.wall_s = (Date.now() - t0) / 1000;
  } else if (a.runSeconds) {
    await page.waitForFunction(() => Number(document.getElementById("numasim-state").dataset.tick) > 0, null, {
      timeout,
    });
    const s0 = await state();
    const t1 = Date.now();
    await page.waitForTimeout(Number(a.runSeconds) * 1000);
    const s1 = await state();
    const dt = (Date.now() - t1) / 1000;
    out.ticks_per_s = (Number(s1.tick) - Number(s0.tick)) / dt;
    out.measured_s = dt;
  }
  s = await state();
  out.state = s;
  out.screenshot = join(a.out, `page-webgpu-${a.webgpu}.png`);
  await page.screenshot({ path: out.screenshot });
  out.console = [];
  for (const line of a.exec) {
    const n = Number((await state())["console-count"]);
    await page.evaluate((l) => window.numasim.exec(l), line);
    await page.waitForFunction(
      (n) => Number(document.getElementById("numasim-state").dataset.consoleCount) > n,
      n,
      { timeout },
    );
    const r = await state();
    out.console.push({ line, out: r["console-last"], ok: r["console-ok"] === "true" });
  }
  if (a.badFile) {
    // Through the page's real file input, as a user picking a file would.
    await page.setInputFiles("#numasim-file", {
      name: basename(a.badFile),
      mimeType: "text/plain",
      buffer: readFileSync(a.badFile),
    });
    await page.waitForFunction(() => document.getElementById("numasim-state").dataset.error, null, { timeout });
    const r = await state();
    out.bad_file = { error: r.error, scenario: r.scenario, tick: r.tick };
    out.bad_file_screenshot = join(a.out, `page-webgpu-${a.webgpu}-bad-file.png`);
    await page.screenshot({ path: out.bad_file_screenshot });
  }
} catch (e) {
  out.failure = String(e && e.stack ? e.stack : e);
} finally {
  out.log = log.slice(-40);
  if (browser) await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out, null, 2));
process.exit(out.failure ? 1 : 0);
