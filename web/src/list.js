// The account's uploads (GET /api/uploads), newest first, a page at a
// time, each finished one with its signed download link. Names are the
// uploader's text: shown with textContent only.
import { getUploads } from './api.js'
import { formatBytes, formatDate } from './format.js'

// A link whose expiry is this close is fetched afresh before use.
const linkMargin = 20_000

export class UploadList {
  constructor(root, token, { onError }) {
    this.items = root.querySelector('#list-items')
    this.more = root.querySelector('#list-more')
    this.empty = root.querySelector('#list-empty')
    this.refreshButton = root.querySelector('#list-refresh')
    this.token = token
    this.onError = onError
    this.cursor = null
    this.byId = new Map()
    this.loading = null
    this.more.addEventListener('click', () => this.load(false))
    this.refreshButton.addEventListener('click', () => this.load(true))
    this.items.addEventListener('click', (e) => this.#onClick(e))
  }

  // load fetches the first page (reset) or the next one.
  load(reset = true) {
    const run = async () => {
      const page = await getUploads(this.token, reset ? null : this.cursor)
      if (reset) {
        this.items.replaceChildren()
        this.byId.clear()
      }
      for (const u of page.uploads) {
        if (this.byId.has(u.id)) continue
        this.byId.set(u.id, u)
        this.items.append(this.#item(u))
      }
      this.cursor = page.next_cursor
      this.more.hidden = !this.cursor
      this.empty.hidden = this.byId.size > 0
    }
    const p = (this.loading ?? Promise.resolve()).then(run, run)
    this.loading = p.catch((err) => this.onError(err))
    return this.loading
  }

  #item(u) {
    const li = document.createElement('li')
    li.className = 'item'
    li.dataset.id = u.id
    const name = document.createElement('p')
    name.className = 'item-name'
    name.textContent = u.name || 'Unnamed file'
    const meta = document.createElement('p')
    meta.className = 'item-meta'
    const parts = [formatBytes(u.size), formatDate(u.created)]
    if (u.route === 'guest' && u.share) parts.push(`sent to “${u.share}”`)
    meta.textContent = parts.filter(Boolean).join(' · ')
    li.append(name, meta)
    if (u.finished) {
      const state = document.createElement('p')
      state.className = 'item-state done'
      state.textContent = 'Uploaded'
      li.append(state)
    } else {
      const label = document.createElement('label')
      label.className = 'item-state'
      const pct = u.size ? Math.floor((u.offset / u.size) * 100) : 0
      label.textContent = u.size ? `Unfinished: ${pct}% (${formatBytes(u.offset)} of ${formatBytes(u.size)}) ` : `Unfinished: ${formatBytes(u.offset)} so far `
      const bar = document.createElement('progress')
      bar.max = u.size || 1
      bar.value = Math.min(u.offset, u.size || 0)
      label.append(bar)
      li.append(label)
    }
    if (u.download) {
      const a = document.createElement('a')
      a.className = 'download'
      a.href = u.download
      a.rel = 'noreferrer'
      a.textContent = 'Download'
      const hidden = document.createElement('span')
      hidden.className = 'visually-hidden'
      hidden.textContent = ` ${u.name || 'unnamed file'}`
      a.append(hidden)
      li.append(a)
    }
    return li
  }

  // A click on a link about to expire lists again and follows the fresh
  // link instead.
  async #onClick(e) {
    const a = e.target.closest('a.download')
    if (!a) return
    const id = a.closest('li')?.dataset.id
    const u = this.byId.get(id)
    if (!u || !u.download_expires) return
    if (new Date(u.download_expires).getTime() - Date.now() > linkMargin) return
    e.preventDefault()
    await this.load(true)
    const fresh = this.byId.get(id)
    if (fresh?.download) location.assign(fresh.download)
  }
}
