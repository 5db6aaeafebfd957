// The page's JSON API (GET /api/session, GET /api/uploads) and the words
// for its refusals.

export class APIError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

async function getJSON(path, token) {
  let res
  try {
    res = await fetch(path, { headers: token.header(), cache: 'no-store', credentials: 'same-origin' })
  } catch {
    throw new APIError(0, 'ERR_NETWORK', 'network')
  }
  if (res.ok) return res.json()
  const body = await res.text().catch(() => '')
  const code = /^(ERR_[A-Z_]+)/.exec(body)?.[1] ?? ''
  throw new APIError(res.status, code, body)
}

export async function getSession(token) {
  await token.get()
  return getJSON('api/session', token)
}

export async function getUploads(token, cursor, limit = 20) {
  await token.get()
  const q = new URLSearchParams({ limit: String(limit) })
  if (cursor) q.set('cursor', cursor)
  return getJSON(`api/uploads?${q}`, token)
}

// explain words an API error for a person: no status codes.
export function explain(err, hasToken) {
  if (!(err instanceof APIError)) return 'Something went wrong on this page. Reload it to try again.'
  switch (err.code) {
    case 'ERR_TOKEN_EXPIRED':
      return 'This upload link has expired. Ask the person who sent it for a new one.'
    case 'ERR_INVALID_TOKEN':
      return 'This upload link is not valid: it may have been copied only in part. Ask the person who sent it for a new one.'
    case 'ERR_UNAUTHORIZED':
      return hasToken
        ? 'This upload link is not valid. Ask the person who sent it for a new one.'
        : 'This page needs an upload link. Open the link you were given: it ends with #token= and a long code.'
    case 'ERR_NETWORK':
      return 'The upload service cannot be reached. Check your connection, then reload the page.'
  }
  if (err.status >= 500) return 'The upload service is having trouble. Try again in a few minutes.'
  return 'The upload service refused this page. Ask the person who sent you the link for a new one.'
}
