// Token refresh: the page opens with a token about to expire; it POSTs
// to the server's token refresh URL (another origin, with the host's
// cookies), keeps the fresh token in sessionStorage and uploads with it.
import { basename } from 'node:path'
import { completed, config, desktop, fail, launch, pick, report, until, watch } from './lib.mjs'

const context = await launch(desktop)
await context.addCookies([{ name: 'host_session', value: config.cookie, url: config.refreshOrigin }])
const page = await context.newPage()
const watcher = await watch(page)
await page.goto(`${config.base}/#token=${config.token}`)
await page.locator('.uppy-Dashboard').waitFor()
await until('the page to take the fresh token', async () =>
  (await page.evaluate(() => sessionStorage.getItem('tusvault.token'))) === config.fresh, 30_000)
report('refreshed')
await pick(page, config.file)
const done = await completed(page, basename(config.file), config.uploadTimeoutMs)
await watcher.check('refresh')
report('result', { url: done.url })
await context.close()
