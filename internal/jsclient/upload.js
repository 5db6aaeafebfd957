'use strict'

// Uploads one file to tusvault with tus-js-client, for the Go test beside
// it (jsclient_test.go), in two Upload instances that share a
// tus.FileUrlStorage:
//
//  1. The first creates the upload and sends it in chunks, slowed down
//     (config.throttle bytes per second) so that the test can SIGKILL the
//     server mid-upload; it makes no retries, so the kill ends it with an
//     error.
//  2. On a "resume" line on stdin (the test has restarted the server on
//     the same port and upload dir), a second instance finds the upload
//     with findPreviousUploads() (by the default Node fingerprint of the
//     file: its path, size, mtime and the endpoint), resumes it with
//     resumeFromPreviousUpload() and sends the rest at full speed.
//
// The configuration is one JSON argument: endpoint, file, token (sent as
// "Authorization: Bearer <token>"), protocol ("tus-v1" or
// "ietf-draft-05"), storage (the URL storage file), chunkSize, throttle,
// timeoutMs. Every event is one JSON line on stdout: fingerprint, created,
// chunk (the offset the server acknowledged), response (with the headers
// that tell the protocol of the answer), error, previous, success. The exit status is 0 once the second instance succeeded.

const fs = require('fs')
const path = require('path')
const readline = require('readline')
const { Transform } = require('stream')
const tus = require('tus-js-client')

const config = JSON.parse(process.argv[2])

function report(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

function fail(message, code) {
  report('failure', { message })
  process.exit(code)
}

// The whole run is bounded; the Go test bounds it too.
setTimeout(() => fail(`no success within ${config.timeoutMs} ms`, 4), config.timeoutMs).unref()

// Throttle passes its input on at most bytesPerSecond.
class Throttle extends Transform {
  constructor(bytesPerSecond) {
    super()
    this.bytesPerSecond = bytesPerSecond
  }

  _transform(chunk, _encoding, callback) {
    setTimeout(() => callback(null, chunk), Math.ceil((chunk.length * 1000) / this.bytesPerSecond))
  }
}

// throttledReader is tus-js-client's Node file reader whose slices are
// streamed through a Throttle: the request bodies are the file's bytes,
// only slower.
function throttledReader(bytesPerSecond) {
  const inner = tus.defaultOptions.fileReader
  return {
    async openFile(input, chunkSize) {
      const source = await inner.openFile(input, chunkSize)
      return {
        size: source.size,
        async slice(start, end) {
          const { value, done } = await source.slice(start, end)
          if (value == null) {
            return { value, done }
          }
          const slow = value.pipe(new Throttle(bytesPerSecond))
          slow.size = value.size
          return { value: slow, done }
        },
        close() {
          source.close()
        },
      }
    },
  }
}

// uploadOptions are the options both instances share.
function uploadOptions(extra) {
  return {
    endpoint: config.endpoint,
    headers: { Authorization: `Bearer ${config.token}` },
    metadata: { filename: path.basename(config.file), filetype: 'application/octet-stream' },
    protocol: config.protocol,
    chunkSize: config.chunkSize,
    retryDelays: null,
    urlStorage: new tus.FileUrlStorage(config.storage),
    onChunkComplete(_chunkSize, bytesAccepted, bytesTotal) {
      report('chunk', { offset: bytesAccepted, total: bytesTotal })
    },
    onAfterResponse(req, res) {
      report('response', {
        method: req.getMethod(),
        status: res.getStatus(),
        offset: res.getHeader('Upload-Offset') ?? null,
        tusResumable: res.getHeader('Tus-Resumable') ?? null,
        interop: res.getHeader('Upload-Draft-Interop-Version') ?? null,
      })
    },
    ...extra,
  }
}

// run starts an upload and settles when it succeeded or failed.
function run(upload) {
  return new Promise((resolve) => {
    upload.options.onSuccess = () => resolve(null)
    upload.options.onError = (err) => resolve(err)
    upload.start()
  })
}

async function fingerprint(file, options) {
  return tus.defaultOptions.fingerprint(file, { ...tus.defaultOptions, ...options })
}

function nextLine() {
  const rl = readline.createInterface({ input: process.stdin })
  return new Promise((resolve) => {
    rl.once('line', (line) => {
      resolve(line.trim()) // before close, which resolves with ''
      rl.close()
    })
    rl.once('close', () => resolve(''))
  })
}

async function main() {
  const first = fs.createReadStream(config.file)
  const firstOptions = uploadOptions({ fileReader: throttledReader(config.throttle) })
  const upload = new tus.Upload(first, firstOptions)
  upload.options.onUploadUrlAvailable = () => report('created', { url: upload.url })
  report('fingerprint', { instance: 1, fingerprint: await fingerprint(first, firstOptions) })
  const earlier = await upload.findPreviousUploads()
  if (earlier.length !== 0) {
    fail(`${earlier.length} previous uploads in a fresh URL storage`, 2)
  }
  const err = await run(upload)
  if (err == null) {
    report('success', { instance: 1, url: upload.url })
    fail('the first upload finished: the server was not killed in time', 3)
  }
  const req = err.originalRequest
  report('error', { message: err.message, method: req ? req.getMethod() : null, url: upload.url })

  if ((await nextLine()) !== 'resume') {
    fail('stdin closed before "resume"', 5)
  }
  const second = fs.createReadStream(config.file)
  const secondOptions = uploadOptions({})
  const resumed = new tus.Upload(second, secondOptions)
  const print = await fingerprint(second, secondOptions)
  const previous = await resumed.findPreviousUploads()
  report('previous', {
    fingerprint: print,
    count: previous.length,
    uploadUrl: previous.length ? previous[0].uploadUrl : null,
  })
  if (previous.length !== 1) {
    fail(`findPreviousUploads found ${previous.length} uploads, want 1`, 6)
  }
  resumed.resumeFromPreviousUpload(previous[0])
  const err2 = await run(resumed)
  if (err2 != null) {
    fail(`resumed upload: ${err2.message}`, 7)
  }
  report('success', { instance: 2, url: resumed.url })
  process.exit(0)
}

main().catch((err) => fail(`${err.stack || err}`, 1))
