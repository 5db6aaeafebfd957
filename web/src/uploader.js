// The Uppy Dashboard: tus uploads to the session's endpoint with the
// current bearer token on every request, resumable across reloads
// (tus fingerprints in localStorage) and closed tabs (Golden Retriever
// keeps the picked files in IndexedDB).
import Uppy from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import GoldenRetriever from '@uppy/golden-retriever'
import Tus from '@uppy/tus'

import { refusal } from './format.js'
import { ProgressLines } from './progress.js'

const MiB = 1024 * 1024

// Golden Retriever keeps a copy of each picked file in IndexedDB so that
// it comes back after a crash or a closed tab; larger files come back as
// "ghosts" that the person picks again (the upload then resumes).
const restoreMaxFile = 1024 * MiB
const restoreMaxTotal = 2048 * MiB

// retryDelays: tus-js-client gives up once its delays run out; the
// server's list is to be repeated at its last delay, so it is extended
// (bounded: with 2 minutes, some two weeks of retries).
export function retryDelays(ms) {
  if (!Array.isArray(ms) || ms.length === 0) return []
  const last = ms[ms.length - 1]
  return ms.concat(Array(10_000).fill(last))
}

// restrictionsFor maps the session's limits to Uppy restrictions.
export function restrictionsFor(session) {
  const r = {}
  if (session.limits.max_size > 0) r.maxFileSize = session.limits.max_size
  const types = session.limits.types.filter((t) => t !== '*/*')
  if (types.length > 0 && types.length === session.limits.types.length) r.allowedFileTypes = types
  if (session.files_left != null) r.maxNumberOfFiles = session.files_left
  return r
}

// typeAllowed matches a file against MIME patterns (image/*,
// application/pdf) and extensions (.pdf), as Uppy's restrictions do.
export function typeAllowed(file, patterns) {
  const type = (file.type ?? '').replace(/;.*$/, '').toLowerCase()
  const ext = (file.extension ?? '').toLowerCase()
  return patterns.some((p) => {
    p = p.toLowerCase()
    if (p.startsWith('.')) return ext !== '' && ext === p.slice(1)
    if (!type) return false
    if (p.endsWith('/*')) return type.startsWith(p.slice(0, -1))
    return type === p
  })
}

// fixSingleFileList works around Uppy's Dashboard rendering a single
// file as a role="listitem" in a container without role="list" (with
// two or more files it is a list): an ARIA error that screen readers
// trip on and axe reports as critical.
function fixSingleFileList(target) {
  const fix = () => {
    for (const el of target.querySelectorAll('.uppy-Dashboard-files:not([role])')) el.setAttribute('role', 'list')
  }
  new MutationObserver(fix).observe(target, { childList: true, subtree: true })
}

// createUploader mounts the Dashboard in target. onRefused(sentence) is
// called when a picked file breaks a limit; onComplete after each batch;
// onRestored(files) when Golden Retriever brought files back.
export function createUploader({ session, token, target, progress, onRefused, onComplete, onRestored, canAdd }) {
  const restrictions = restrictionsFor(session)
  const who = session.kind === 'guest' ? `guest:${session.owner}/${session.share}` : `${session.kind}:${session.account ?? ''}`
  const uppy = new Uppy({
    // The id names Golden Retriever's store: one per account or share.
    id: `tusvault:${who}`,
    autoProceed: true,
    allowMultipleUploadBatches: true,
    restrictions,
    locale: {
      strings: {
        exceedsSize: '%{file} is too large: this link accepts files up to %{size}.',
        youCanOnlyUploadFileTypes: 'This link accepts only these kinds of file: %{types}.',
        youCanOnlyUploadX: {
          0: 'Too many files: this link accepts %{smart_count} more file.',
          1: 'Too many files: this link accepts %{smart_count} more files.',
        },
        noMoreFilesAllowed: 'This link accepts no more files.',
      },
    },
  })
  uppy.use(Dashboard, {
    inline: true,
    target,
    width: '100%',
    height: 380,
    proudlyDisplayPoweredByUppy: false,
    // The page says why a file is refused, in its own alert; Uppy's
    // informer would repeat it in a toast (and count files otherwise).
    disableInformer: true,
    // The page shows bytes, speed and time left per file (progress.js).
    hideProgressDetails: true,
    showLinkToFileUploadResult: false,
    showRemoveButtonAfterComplete: true,
    disableLocalFiles: !canAdd,
    theme: 'light',
    note: canAdd ? null : 'New files cannot be added with this link.',
  })
  uppy.use(Tus, {
    endpoint: session.endpoint,
    ...(session.chunk_size > 0 ? { chunkSize: session.chunk_size } : {}),
    retryDelays: retryDelays(session.retry_delays_ms),
    // tus-js-client remembers each upload's URL under the file's
    // fingerprint in localStorage, so that picking the same file again,
    // or a reload, resumes it.
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    allowedMetaFields: ['name', 'type'],
    limit: 4,
    async onBeforeRequest(req) {
      // Asked before every request, so a refreshed token is used at once.
      const t = await token.get()
      if (t) req.setHeader('Authorization', `Bearer ${t}`)
    },
  })
  uppy.use(GoldenRetriever, {
    expires: Math.max(session.resume_grace_s, 3600) * 1000,
    indexedDB: { maxFileSize: restoreMaxFile, maxTotalSize: restoreMaxTotal },
  })

  fixSingleFileList(target)
  new ProgressLines(uppy, progress)

  uppy.on('restriction-failed', (file, error) => {
    const name = file?.name ?? 'This file'
    // In Uppy's order: the kind of file first, then its size.
    if (file && restrictions.allowedFileTypes && !typeAllowed(file, restrictions.allowedFileTypes)) {
      onRefused(refusal.wrongType(name, restrictions.allowedFileTypes))
    } else if (file && restrictions.maxFileSize && file.size > restrictions.maxFileSize) {
      onRefused(refusal.tooLarge(name, restrictions.maxFileSize))
    } else if (restrictions.maxNumberOfFiles != null) {
      const used = uppy.getFiles().filter((f) => !f.isGhost).length
      onRefused(refusal.tooMany(Math.max(restrictions.maxNumberOfFiles - used, 0)))
    } else {
      onRefused(error.message)
    }
  })
  uppy.on('complete', () => onComplete())
  uppy.on('restored', () => {
    const files = uppy.getFiles()
    if (files.length === 0) return
    onRestored(files)
    // Files that came back with their data resume at once; ghosts wait
    // for the person to pick them again (the Dashboard says so).
    if (!files.some((f) => f.isGhost)) setTimeout(() => uppy.emit('restore-confirmed'), 0)
  })
  return uppy
}
