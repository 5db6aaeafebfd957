// Guest token: the share's limits are shown before anything is picked;
// a file too large and one of the wrong kind are refused in the page
// with a sentence; too many files are refused; a valid file uploads; no
// download link is reachable. Screenshots: guest-limits, guest-refused
// (README), guest-phone.
import { basename } from 'node:path'
import { audit, completed, config, desktop, fail, fitsWidth, launch, phone, pick, report, shoot, until, watch } from './lib.mjs'

const context = await launch(desktop)
const page = await context.newPage()
const watcher = await watch(page)
await page.goto(`${config.base}/#token=${config.token}`)
await page.locator('#share').waitFor()
await page.locator('.uppy-Dashboard').waitFor()

const limits = (await page.locator('#share-limits').innerText()).replace(/\s+/g, ' ')
for (const want of config.limitTexts) {
  if (!limits.includes(want)) fail(`the share's limits "${limits}" do not say "${want}"`)
}
const title = (await page.locator('h1').innerText()).trim()
if (!title.includes(config.owner)) fail(`the title "${title}" does not name the owner ${config.owner}`)
await shoot(page, 'guest-limits', { readme: true })
await audit(page, 'guest, limits')

// saysRefused waits for the refusal box to show the sentence.
async function saysRefused(what, sentence) {
  const box = page.locator('#refused')
  const deadline = Date.now() + 5_000
  for (;;) {
    const said = (await box.isVisible()) ? (await box.innerText()).trim() : ''
    if (said === sentence) return
    if (Date.now() > deadline) fail(`${what}: the page says "${said}", want "${sentence}"`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function refusedWith(file, sentence) {
  await pick(page, file)
  await saysRefused(`picking ${basename(String(file))}`, sentence)
  if ((await page.evaluate(() => window.tusvault.uppy.getFiles().length)) !== 0) fail(`${file} was added anyway`)
  report('refused', { file: basename(String(file)), sentence })
}

await refusedWith(config.large, config.largeSentence)
await shoot(page, 'guest-refused', { readme: true })
await audit(page, 'guest, refused file')
await refusedWith(config.wrongType, config.wrongTypeSentence)

await pick(page, config.ok)
const okName = basename(config.ok)
if (!(await page.locator('#refused').isHidden())) fail('the refusal stays on screen after a valid file was picked')
const done = await completed(page, okName, config.uploadTimeoutMs)
report('uploaded', { url: done.url })
await until('the limits to count the upload', async () =>
  (await page.locator('#share-limits').innerText()).replace(/\s+/g, ' ').includes(config.leftAfter), 10_000)

// One file is in the Dashboard; the share took one, so files_left - 1
// more may be picked now and more than that is refused.
await pick(page, config.many)
await saysRefused(`picking ${config.many.length} files`, config.manySentence)

// Nothing to download: no links to uploads, no list, and the API says no.
const links = await page.locator('a[href*="download="], a[href*="/files/"]').count()
if (links !== 0) fail(`the guest page has ${links} links to uploads`)
if (!(await page.locator('#list').isHidden())) fail('the guest page shows a list of uploads')
const api = await page.evaluate(async (token) => {
  const r = await fetch('api/uploads', { headers: { Authorization: `Bearer ${token}` } })
  return { status: r.status, body: await r.text() }
}, config.token)
if (api.status !== 403 || !api.body.startsWith('ERR_GUEST_CANNOT_LIST')) fail(`GET /api/uploads with the guest token: ${api.status} ${api.body}`)
await watcher.check('guest')

await page.setViewportSize(phone)
await page.evaluate(() => window.scrollTo(0, 0))
await fitsWidth(page, 'guest on a phone')
await shoot(page, 'guest-phone')
await audit(page, 'guest on a phone')
await watcher.check('guest on a phone')
report('result', { url: done.url })
await context.close()
