// A home account with more uploads than a page of the list: 20 shown,
// "Load more" shows the rest, names are text (never HTML).
import { audit, config, desktop, fail, launch, report, until, watch } from './lib.mjs'

const context = await launch(desktop)
const page = await context.newPage()
const watcher = await watch(page)
await page.clock.install()
await page.goto(`${config.base}/#token=${config.token}`)
const items = page.locator('#list-items li')
await until('the first page of the list', async () => (await items.count()) === 20, 20_000)
const more = page.locator('#list-more')
if (!(await more.isVisible())) fail('no "Load more" button with more uploads to show')
await more.focus()
await page.keyboard.press('Enter')
await until('the second page of the list', async () => (await items.count()) === config.total, 20_000)
if (await more.isVisible()) fail('"Load more" is still shown after the last page')
const hostile = page.locator('#list-items li', { hasText: config.hostileName })
if ((await hostile.count()) !== 1) fail(`the name ${config.hostileName} is not shown as text`)
if ((await page.locator('#list-items img, #list-items script').count()) !== 0) fail('a file name became HTML')
const downloads = await page.locator('#list-items a.download').count()
if (downloads !== config.total) fail(`${downloads} download links for ${config.total} finished uploads`)
await audit(page, 'home, long list')

// Five minutes later the links have expired: a click lists again and
// follows the fresh link, never the stale one. Only the page's clock
// moves, and no timer fires (so the list is not refreshed by its own
// timer); the server mints the fresh link for its own now, a second or
// more later than the stale one.
const first = page.locator('#list-items li a.download').first()
const stale = await first.getAttribute('href')
const followed = []
page.on('request', (r) => r.url().includes("download=") && followed.push(r.url()))
await page.waitForTimeout(1_100)
await page.clock.setSystemTime(Date.now() + 5 * 60_000)
const relisted = page.waitForRequest((r) => r.url().includes('/api/uploads'), { timeout: 10_000 })
await first.click()
await relisted
await until('the fresh link to be followed', () => followed.length > 0, 10_000)
if (followed.some((u) => u.endsWith(stale))) fail(`the stale link ${stale} was followed`)
report('relisted', { stale, fresh: followed[0] })
await watcher.check('list')
report('result', { items: config.total })
await context.close()
