// The upload page: reads the token of the URL fragment, asks
// GET /api/session who it is, and shows what fits: the Dashboard and the
// account's uploads for a home token, the share's limits and the
// Dashboard for a guest, a sentence for an expired, invalid or missing
// link.
import { APIError, explain, getSession } from './api.js'
import { describeTypes, formatBytes, formatDate, plural } from './format.js'
import { UploadList } from './list.js'
import { Token, takeToken } from './token.js'
import { createUploader } from './uploader.js'

const $ = (id) => document.getElementById(id)

function show(el, text) {
  el.textContent = text
  el.hidden = !text
}

// setTitle names the page's state in its heading and its window title.
function setTitle(text) {
  $('title').textContent = text
  document.title = `${text} · tusvault`
}

function say(text) {
  $('status').textContent = text
}

function notice(text) {
  show($('notice'), text)
}

function whoLine(session) {
  if (session.kind === 'home') return `Signed in as ${session.account}`
  if (session.kind === 'guest') return `Sending files to ${session.owner}`
  return 'Open uploads'
}

function addLimit(dl, term, value) {
  const dt = document.createElement('dt')
  dt.textContent = term
  const dd = document.createElement('dd')
  dd.textContent = value
  dl.append(dt, dd)
}

function showShare(session) {
  const dl = $('share-limits')
  dl.replaceChildren()
  addLimit(dl, 'From', session.owner)
  addLimit(dl, 'Share', session.share)
  addLimit(dl, 'Largest file', session.limits.max_size > 0 ? formatBytes(session.limits.max_size) : 'No limit')
  addLimit(dl, 'Kinds of file', session.limits.types.length > 0 ? capitalise(describeTypes(session.limits.types)) : 'Any')
  addLimit(dl, 'Files left', session.files_left != null ? plural(session.files_left, 'file', 'files') : 'No limit')
  addLimit(dl, 'Link expires', session.expires ? formatDate(session.expires) : 'Never')
  $('share').hidden = false
}

function capitalise(s) {
  return s.charAt(0).toUpperCase() + s.slice(1)
}

// graceEnd is when an expired token stops resuming uploads.
function graceEnd(session) {
  if (!session.expires) return null
  return new Date(new Date(session.expires).getTime() + session.resume_grace_s * 1000).toISOString()
}

async function main() {
  const raw = takeToken()
  let list = null
  let current = null
  const token = new Token(raw, {
    onRefreshFailed: () => {
      if (current?.expires) {
        notice(`This upload link expires on ${formatDate(current.expires)}. Uploads already started can still finish until ${formatDate(graceEnd(current))}.`)
      }
    },
  })
  let session
  try {
    session = await getSession(token)
  } catch (err) {
    document.body.dataset.state = err instanceof APIError && err.code === 'ERR_TOKEN_EXPIRED' ? 'expired' : 'invalid'
    setTitle(document.body.dataset.state === 'expired' ? 'This link has expired' : 'This link does not work')
    notice(explain(err, Boolean(raw)))
    return
  }
  current = session
  token.refreshURL = session.token_refresh_url || ''
  token.onChange = async () => {
    try {
      current = await getSession(token)
      show($('who'), whoLine(current))
    } catch {
      // keep what we know
    }
  }
  token.schedule()
  show($('who'), whoLine(session))

  const expired = session.expired
  const canAdd = !expired && !(session.files_left === 0)
  document.body.dataset.state = expired ? 'expired' : session.kind
  if (session.kind === 'guest') {
    setTitle(`Send files to ${session.owner}`)
    showShare(session)
  }
  if (expired) {
    setTitle('This link has expired')
    notice(
      `This upload link has expired. Ask the person who sent it for a new one. ` +
        `Uploads you had already started with it can still finish until ${formatDate(graceEnd(session))}.`,
    )
  } else if (session.files_left === 0) {
    notice('This link has already received all the files it accepts. Ask the person who sent it if you need to send more.')
  }

  const refused = $('refused')
  const uppy = createUploader({
    session,
    token,
    target: $('dashboard'),
    progress: $('progress'),
    canAdd,
    onRefused: (sentence) => show(refused, sentence),
    onComplete: async () => {
      say('Upload finished.')
      list?.load(true)
      if (session.kind === 'guest') {
        // The share took files: show how many more it accepts.
        try {
          current = await getSession(token)
          showShare(current)
        } catch {
          // keep the limits shown
        }
      }
    },
    onRestored: (files) => {
      $('uploader').hidden = false
      const ghosts = files.filter((f) => f.isGhost).length
      say(
        ghosts > 0
          ? `${plural(files.length, 'file', 'files')} from before came back. Pick ${ghosts === 1 ? 'it' : 'them'} again to go on where the upload stopped.`
          : `${plural(files.length, 'file', 'files')} from before came back and continue${files.length === 1 ? 's' : ''} uploading.`,
      )
    },
  })
  uppy.on('file-added', () => show(refused, ''))
  uppy.on('upload-error', (file, err) => {
    const status = err?.originalResponse?.getStatus?.() ?? err?.cause?.originalResponse?.getStatus?.()
    if (status === 401) notice('This upload link has expired. Ask the person who sent it for a new one.')
    else if (status === 413) show(refused, `${file?.name ?? 'This file'} is larger than this link accepts.`)
    else if (status === 403) show(refused, `${file?.name ?? 'This file'} was refused: this link does not accept it.`)
  })
  window.tusvault = { uppy, session }

  if (canAdd) {
    $('uploader').hidden = false
    $('uploader-note').textContent =
      session.kind === 'guest'
        ? 'Uploads pause when your connection drops and go on by themselves. You can close this page and open the link again later to continue.'
        : 'Uploads go on by themselves after a dropped connection, a reload or a closed tab.'
    say(session.kind === 'guest' ? 'Ready: pick files or drop them on the box.' : 'Ready to upload.')
  }

  if (session.kind === 'home' && !expired) {
    list = new UploadList($('list'), token, {
      onError: (err) => say(`The list of uploads could not be loaded: ${explain(err, true)}`),
    })
    $('list').hidden = false
    list.load(true)
    // Download links last five minutes: list again before they go stale.
    setInterval(() => {
      if (document.visibilityState === 'visible') list.load(true)
    }, 240_000)
  }
}

window.addEventListener('hashchange', () => {
  if (new URLSearchParams(location.hash.slice(1)).has('token')) location.reload()
})

main()
