// Home token: pick a large file, let it upload through the test's
// throttling proxy (which the Go test cuts mid-upload), then find it in
// the list with its download link. Screenshots: home-uploading,
// home-list (README), home-phone.
import { basename } from 'node:path'
import { audit, completed, config, desktop, fail, fitsWidth, launch, phone, pick, report, shoot, until, uploadedAtLeast, watch } from './lib.mjs'

const name = basename(config.file)
const context = await launch(desktop)
const page = await context.newPage()
const watcher = await watch(page)
await page.goto(`${config.base}/#token=${config.token}`)
await page.locator('.uppy-Dashboard').waitFor()

// The token left the address bar for this tab's sessionStorage.
if (page.url().includes('token')) fail(`the address bar still shows the token: ${page.url()}`)
const kept = await page.evaluate(() => sessionStorage.getItem('tusvault.token'))
if (kept !== config.token) fail('the token is not in sessionStorage')
const who = (await page.locator('#who').innerText()).trim()
if (!who.includes(config.account)) fail(`the page says "${who}", not the account ${config.account}`)

// Keyboard: the skip link comes first and takes focus to the main area.
await page.keyboard.press('Tab')
if (!(await page.evaluate(() => document.activeElement?.classList.contains('skip')))) fail('Tab does not reach the skip link first')
await page.keyboard.press('Enter')
if (!(await page.evaluate(() => document.activeElement?.id === 'main'))) fail('the skip link does not move focus to the main area')
await audit(page, 'home, ready')

await pick(page, config.file)
report('picked', { name })
const started = await uploadedAtLeast(page, name, 0.25, 30_000)
report('uploading', { url: started.url })
// Bytes sent, speed and time left, for the file.
await until('the speed and time left of the upload', async () =>
  /MB of 40 MB · [\d.]+ MB\/s · about \d+ s left/.test(await page.locator('#progress').innerText()), 10_000)
await shoot(page, 'home-uploading', { readme: true })
await audit(page, 'home, uploading')

const done = await completed(page, name, config.uploadTimeoutMs)
report('uploaded', { url: done.url })

const item = page.locator('#list-items li', { hasText: name })
await until('the list to show the upload with its download link', async () => (await item.locator('a.download').count()) === 1, 20_000)
const href = await item.locator('a.download').getAttribute('href')
const label = (await item.locator('a.download').innerText()).trim()
if (!label.startsWith('Download')) fail(`the download link reads "${label}"`)
await page.locator('#list').scrollIntoViewIfNeeded()
await shoot(page, 'home-list', { readme: true })
await audit(page, 'home, list')
await watcher.check('home')

await page.setViewportSize(phone)
await fitsWidth(page, 'home on a phone')
await shoot(page, 'home-phone')
await audit(page, 'home on a phone')
await watcher.check('home on a phone')

report('result', { url: done.url, download: href })
await context.close()
