// Words and numbers for people: sizes, dates, the sentences of refusals.

const units = ['bytes', 'KB', 'MB', 'GB', 'TB', 'PB']

// formatBytes counts in steps of 1024 with Uppy's unit names, so that
// the page and the Dashboard give a file the same size.
export function formatBytes(n) {
  if (n == null || !Number.isFinite(n)) return 'unknown size'
  if (n < 1024) return n === 1 ? '1 byte' : `${n} bytes`
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  const digits = v >= 10 || Number.isInteger(v) ? 0 : 1
  return `${v.toFixed(digits)} ${units[i]}`
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

export function formatDate(text) {
  const d = new Date(text)
  return Number.isNaN(d.getTime()) ? '' : dateFormat.format(d)
}

// describeTypes words a share's MIME patterns: ["image/*",
// "application/pdf"] is "images and PDF files".
export function describeTypes(types) {
  const known = {
    '*/*': 'any file',
    'image/*': 'images',
    'video/*': 'videos',
    'audio/*': 'audio files',
    'text/*': 'text files',
    'application/pdf': 'PDF files',
    'application/zip': 'ZIP archives',
  }
  return list(types.map((t) => known[t] ?? `${t} files`))
}

export function list(words) {
  if (words.length <= 1) return words.join('')
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`
}

// The sentences shown when the page refuses a file before uploading it.
export const refusal = {
  tooLarge: (name, max) => `${name} is too large: this link accepts files up to ${formatBytes(max)}.`,
  wrongType: (name, types) => `${name} is not a kind of file this link accepts: it accepts ${describeTypes(types)}.`,
  tooMany: (left) =>
    left === 0
      ? 'This link accepts no more files.'
      : `Too many files: this link accepts ${plural(left, 'more file', 'more files')}.`,
}
