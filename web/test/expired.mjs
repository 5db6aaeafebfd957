// Links that do not work: expired past the resume grace, expired within
// it, not valid, missing. Each says so in words (no status code).
// Screenshots: expired (README), expired-phone, and one per state.
import { audit, config, desktop, fail, fitsWidth, launch, phone, report, shoot, watch } from './lib.mjs'

const context = await launch(desktop)
for (const s of config.states) {
  const page = await context.newPage()
  const watcher = await watch(page)
  await page.goto(s.token ? `${config.base}/#token=${s.token}` : `${config.base}/`)
  const box = page.locator('#notice')
  await box.waitFor({ state: 'visible' })
  const said = (await box.innerText()).trim()
  for (const want of s.says) {
    if (!said.includes(want)) fail(`${s.name}: the page says "${said}", want "${want}"`)
  }
  if (/\b[45]\d\d\b|ERR_/.test(said)) fail(`${s.name}: the page shows a status code: "${said}"`)
  if (s.dashboard === false && (await page.locator('#uploader').isVisible())) fail(`${s.name}: the Dashboard is shown`)
  await audit(page, s.name)
  await shoot(page, s.name, { readme: s.readme })
  if (s.readme) {
    await page.setViewportSize(phone)
    await fitsWidth(page, `${s.name} on a phone`)
    await shoot(page, `${s.name}-phone`)
    await page.setViewportSize(desktop)
  }
  await watcher.check(s.name)
  report('state', { name: s.name, says: said })
  await page.close()
}
report('result', {})
await context.close()
