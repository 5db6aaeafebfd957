// The bearer token: taken from the URL fragment (#token=…), which the
// browser never sends, kept in sessionStorage (this tab only) and removed
// from the address bar; refreshed at the host application's URL when the
// server names one.

const key = 'tusvault.token'

// takeToken returns the token of the fragment (storing it) or, without
// one, the token this tab stored before; null when there is none.
export function takeToken() {
  const params = new URLSearchParams(location.hash.slice(1))
  const fromURL = params.get('token')
  if (fromURL) {
    try {
      sessionStorage.setItem(key, fromURL)
    } catch {
      // Storage off: the token lives in memory only.
    }
    history.replaceState(history.state, '', location.pathname + location.search)
    return fromURL
  }
  try {
    return sessionStorage.getItem(key)
  } catch {
    return null
  }
}

function storeToken(t) {
  try {
    sessionStorage.setItem(key, t)
  } catch {
    // memory only
  }
}

// tokenExpiry reads exp from the token's payload (not verified: only to
// decide when to refresh); null when it has none.
export function tokenExpiry(t) {
  try {
    const part = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    const exp = JSON.parse(atob(part)).exp
    return typeof exp === 'number' ? new Date(exp * 1000) : null
  } catch {
    return null
  }
}

// Token holds the current token and refreshes it: when refreshURL is set
// and the token is within margin of its expiry (a fifth of its life, at
// most five minutes, at least 30 seconds), get() first POSTs to
// refreshURL with the current token and the host's cookies and takes the
// {"token": "…"} of a 200. Any other answer keeps the current token, and
// onRefreshFailed is told (once per token).
export class Token {
  constructor(value, { refreshURL = '', onChange = () => {}, onRefreshFailed = () => {} } = {}) {
    this.value = value
    this.refreshURL = refreshURL
    this.onChange = onChange
    this.onRefreshFailed = onRefreshFailed
    this.issued = Date.now()
    this.pending = null
    this.failedFor = null
    this.timer = null
  }

  header() {
    return this.value ? { Authorization: `Bearer ${this.value}` } : {}
  }

  // margin is how long before its expiry the token is refreshed.
  margin(exp) {
    const life = Math.max(exp.getTime() - this.issued, 0)
    return Math.min(Math.max(life / 5, 30_000), 300_000)
  }

  needsRefresh(now = Date.now()) {
    if (!this.refreshURL || !this.value) return false
    const exp = tokenExpiry(this.value)
    return exp != null && exp.getTime() - now < this.margin(exp)
  }

  // schedule refreshes the token when it nears its expiry, even while
  // nothing uploads, and again for each fresh token; it stops once a
  // refresh of the current token failed.
  schedule() {
    clearTimeout(this.timer)
    if (!this.refreshURL || !this.value || this.failedFor === this.value) return
    const exp = tokenExpiry(this.value)
    if (!exp) return
    const delay = exp.getTime() - this.margin(exp) - Date.now()
    this.timer = setTimeout(async () => {
      if (this.needsRefresh()) await this.refresh()
      this.schedule()
    }, Math.min(Math.max(delay, 0), 86_400_000))
  }

  async get() {
    if (this.needsRefresh() && this.failedFor !== this.value) await this.refresh()
    return this.value
  }

  refresh() {
    this.pending ??= this.#refresh().finally(() => {
      this.pending = null
    })
    return this.pending
  }

  async #refresh() {
    const before = this.value
    try {
      const res = await fetch(this.refreshURL, {
        method: 'POST',
        headers: { Authorization: `Bearer ${before}` },
        credentials: 'include',
        cache: 'no-store',
      })
      const body = res.ok ? await res.json() : null
      if (body && typeof body.token === 'string' && body.token.split('.').length === 3) {
        this.value = body.token
        this.issued = Date.now()
        storeToken(this.value)
        this.onChange(this.value)
        return true
      }
    } catch {
      // fall through: keep the current token
    }
    this.failedFor = before
    this.onRefreshFailed()
    return false
  }
}
