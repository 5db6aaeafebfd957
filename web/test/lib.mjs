// What the browser scenarios share: Debian's Chromium through
// playwright-core with a fresh profile, a watch on the console for
// Content-Security-Policy violations and page errors, axe audits,
// screenshots, and the JSON lines the Go test (internal/browser) reads.
//
// A scenario is run as `node <scenario>.mjs CONFIG`, CONFIG one JSON
// argument written by the Go test: base (the page's origin, through the
// test's throttling proxy), tokens and files of the scenario, artifacts
// (where screenshots go), readme (where the README's copies go, or ""),
// profile (a fresh Chromium --user-data-dir), timeoutMs. Each event is
// a JSON line on stdout; the last is "result" (exit 0) or "failure"
// (exit 1).
import AxeBuilder from '@axe-core/playwright'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

export const config = JSON.parse(process.argv[2] ?? '{}')

export function report(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

export function fail(message) {
  report('failure', { message })
  process.exit(1)
}

// A thrown error (a Playwright timeout, say) is a failure like any other.
process.on('uncaughtException', (err) => fail(err?.stack ?? String(err)))
process.on('unhandledRejection', (err) => fail(err?.stack ?? String(err)))

// The whole run is bounded; the Go test bounds it too.
setTimeout(() => fail(`not done within ${config.timeoutMs} ms`), config.timeoutMs ?? 120_000).unref()

// The arguments the closed network needs: no background connections.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

export const desktop = { width: 1100, height: 860 }
export const phone = { width: 390, height: 844 }

// launch starts Chromium on the scenario's fresh profile.
export async function launch(viewport = desktop) {
  const context = await chromium.launchPersistentContext(config.profile, {
    executablePath: config.chromium || '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    viewport,
    locale: 'en-GB',
    timezoneId: 'UTC',
    acceptDownloads: false,
  })
  context.setDefaultTimeout(20_000)
  return context
}

// watch records what must never happen on the page: CSP violations (as
// the console reports them and as securitypolicyviolation events), page
// errors, failed requests other than those the test provokes.
export async function watch(page) {
  const problems = []
  await page.addInitScript(() => {
    window.__csp = []
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sample || ''})`)
    })
  })
  page.on('console', (m) => {
    const text = m.text()
    if (/Content Security Policy|Refused to (apply|load|execute|connect)/i.test(text)) problems.push(`CSP: ${text}`)
  })
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  return {
    problems,
    async check(where) {
      const csp = await page.evaluate(() => window.__csp ?? []).catch(() => [])
      const all = [...problems, ...csp.map((c) => `CSP: ${c}`)]
      if (all.length > 0) fail(`${where}: ${all.join('; ')}`)
    },
  }
}

// audit runs axe (WCAG 2.x A and AA) and fails on serious or critical
// violations; it returns the count of lesser ones.
export async function audit(page, state) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze()
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  const minor = results.violations.filter((v) => !bad.includes(v)).map((v) => v.id)
  report('audit', { state, serious: bad.length, minor, passes: results.passes.length })
  if (bad.length > 0) {
    const lines = bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`)
    fail(`accessibility of "${state}": ${lines.join('; ')}`)
  }
  return minor.length
}

// shoot saves a screenshot of the page as artifacts/NAME.png and, for
// the README's states, as readme/NAME.png.
export async function shoot(page, name, { readme = false } = {}) {
  mkdirSync(config.artifacts, { recursive: true })
  const file = join(config.artifacts, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' })
  if (readme && config.readme) {
    mkdirSync(config.readme, { recursive: true })
    copyFileSync(file, join(config.readme, `${name}.png`))
  }
  report('screenshot', { name, file })
}

// pick gives the Dashboard's file input these files, as a drop or the
// file picker would.
export async function pick(page, files) {
  const input = page.locator('.uppy-Dashboard input[type=file]:not([webkitdirectory])').first()
  // With files in the Dashboard, its picker is behind "Add more".
  if ((await input.count()) === 0) await page.locator('.uppy-DashboardContent-addMore').click()
  await input.setInputFiles(files)
}

// files is what Uppy knows of each file: name, progress, tus URL.
export function files(page) {
  return page.evaluate(() =>
    (window.tusvault?.uppy.getFiles() ?? []).map((f) => ({
      name: f.name,
      size: f.size,
      ghost: Boolean(f.isGhost),
      restored: Boolean(f.isRestored),
      uploaded: f.progress.bytesUploaded ?? 0,
      complete: Boolean(f.progress.uploadComplete),
      error: f.error ?? null,
      url: f.tus?.uploadUrl ?? f.uploadURL ?? null,
    })),
  )
}

// until polls fn every 100 ms until it returns a truthy value, for at
// most ms.
export async function until(what, fn, ms = 60_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) fail(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

// uploadedAtLeast waits until the file is at least fraction sent.
export function uploadedAtLeast(page, name, fraction, ms) {
  return until(`${name} ${Math.round(fraction * 100)}% uploaded`, async () => {
    const f = (await files(page)).find((x) => x.name === name)
    if (f?.error) fail(`${name}: ${f.error}`)
    return f && f.uploaded >= f.size * fraction ? f : null
  }, ms)
}

export function completed(page, name, ms) {
  return until(`${name} uploaded`, async () => {
    const f = (await files(page)).find((x) => x.name === name)
    return f?.complete ? f : null
  }, ms)
}

// fitsWidth fails when the page scrolls sideways at its viewport.
export async function fitsWidth(page, where) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }))
  if (scroll > width) fail(`${where}: the page is ${scroll} px wide in a ${width} px window`)
}

export async function text(page, selector) {
  return (await page.locator(selector).innerText()).trim()
}
