// A line per file being uploaded: bytes sent, speed and time left, from
// Uppy's upload-progress events averaged over the last few seconds (the
// Dashboard's own time left is biased low by seconds and shows no
// speed). A file that makes no progress for a while is said to be
// waiting for the connection: the uploader retries on its own.
import { formatBytes } from './format.js'

const window_ = 6_000 // the speed is measured over this long
const stalled = 3_000 // no progress for this long: waiting

export function formatDuration(s) {
  if (!Number.isFinite(s) || s < 0) return ''
  if (s < 60) return `${Math.max(1, Math.round(s))} s`
  const m = Math.round(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  return `${h} h ${m % 60} min`
}

export class ProgressLines {
  constructor(uppy, root) {
    this.uppy = uppy
    this.root = root
    this.samples = new Map() // file id → [{t, bytes}]
    this.timer = null
    uppy.on('upload-progress', (file, p) => {
      if (!file) return
      const list = this.samples.get(file.id) ?? []
      const now = performance.now()
      list.push({ t: now, bytes: p.bytesUploaded })
      while (list.length > 2 && now - list[0].t > window_) list.shift()
      this.samples.set(file.id, list)
      this.start()
    })
    // A resumed upload starts a new measurement: its first bytes were
    // sent before.
    const reset = (file) => file && this.samples.delete(file.id)
    uppy.on('upload-success', reset)
    uppy.on('upload-error', reset)
    uppy.on('upload-pause', (file) => reset(file))
    uppy.on('file-removed', reset)
    uppy.on('complete', () => this.render())
  }

  start() {
    this.timer ??= setInterval(() => this.render(), 500)
  }

  line(file, now) {
    const size = file.size ?? file.progress.bytesTotal
    const sent = file.progress.bytesUploaded ?? 0
    const parts = [`${formatBytes(sent)} of ${formatBytes(size)}`]
    if (file.isPaused) return `${parts[0]}, paused`
    const s = this.samples.get(file.id) ?? []
    const last = s[s.length - 1]
    if (last && now - last.t > stalled) {
      return `${parts[0]}, waiting for the connection (no progress for ${formatDuration((now - last.t) / 1000)}; it goes on by itself)`
    }
    if (s.length >= 2 && last.t - s[0].t >= 1_000) {
      const speed = ((last.bytes - s[0].bytes) / (last.t - s[0].t)) * 1000
      if (speed > 0) {
        parts.push(`${formatBytes(Math.round(speed))}/s`)
        if (size) parts.push(`about ${formatDuration((size - sent) / speed)} left`)
      }
    }
    return parts.join(' · ')
  }

  render() {
    const now = performance.now()
    const active = this.uppy
      .getFiles()
      .filter((f) => f.progress.uploadStarted && !f.progress.uploadComplete && !f.error)
    const items = active.map((f) => {
      const li = document.createElement('li')
      const name = document.createElement('span')
      name.className = 'progress-name'
      name.textContent = f.name
      li.append(name, ` ${this.line(f, now)}`)
      return li
    })
    this.root.replaceChildren(...items)
    this.root.hidden = items.length === 0
    if (items.length === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = null
    }
  }
}
