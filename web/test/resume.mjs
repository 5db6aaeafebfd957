// Home token, interrupted by the person: mode "reload" reloads the page
// mid-upload (the token comes back from sessionStorage), mode "close"
// closes the tab and opens the link again in a new one. Either way
// Golden Retriever brings the file back, the Dashboard resumes it, and
// the same tus upload completes.
import { basename } from 'node:path'
import { completed, config, desktop, fail, files, launch, pick, report, until, uploadedAtLeast, watch } from './lib.mjs'

const name = basename(config.file)
const context = await launch(desktop)
let page = await context.newPage()
let watcher = await watch(page)
await page.goto(`${config.base}/#token=${config.token}`)
await page.locator('.uppy-Dashboard').waitFor()
await pick(page, config.file)
const first = await uploadedAtLeast(page, name, config.fraction, 30_000)
if (!first.url) fail('no tus upload URL before the interruption')
report('interrupting', { mode: config.mode, url: first.url, uploaded: first.uploaded })
await watcher.check('before the interruption')

if (config.mode === 'reload') {
  await page.reload()
} else {
  await page.close()
  page = await context.newPage()
  watcher = await watch(page)
  await page.goto(`${config.base}/#token=${config.token}`)
}
const back = await until('Golden Retriever to bring the file back', async () => {
  const f = (await files(page)).find((x) => x.name === name)
  return f?.restored ? f : null
}, 20_000)
if (back.ghost) fail(`${name} came back without its data (a ghost)`)
const said = (await page.locator('#status').innerText()).trim()
if (!/came back/.test(said)) fail(`the page does not say the file came back: "${said}"`)
report('restored', { url: back.url, uploaded: back.uploaded })

const done = await completed(page, name, config.uploadTimeoutMs)
if (done.url !== first.url) fail(`resumed as ${done.url}, not ${first.url}`)
await watcher.check(`after the ${config.mode}`)
report('result', { url: done.url })
await context.close()
