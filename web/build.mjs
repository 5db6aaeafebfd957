// Builds the upload page into web/dist (or the directory given as the
// first argument): esbuild bundles src/app.js and src/app.css, minified,
// into assets/app-<hash>.js and assets/app-<hash>.css, and index.html is
// src/index.html with those names filled in. The output depends only on
// the sources and the locked packages (no timestamps, no absolute paths,
// no source maps), so that the Go test beside it can rebuild it and
// compare it byte for byte with the committed web/dist.
import * as esbuild from 'esbuild'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const out = resolve(process.argv[2] ?? join(here, 'dist'))

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/app.js', 'app-style': 'src/app.css' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome111', 'firefox115', 'safari16.4'],
  platform: 'browser',
  entryNames: 'assets/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  // Everything the page uses is in the bundle; a url() in a style sheet
  // that is not a data: URL would be a file of its own, which the build
  // refuses below.
  loader: { '.svg': 'dataurl', '.png': 'dataurl' },
  legalComments: 'eof',
  charset: 'utf8',
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
  outdir: out,
  write: false,
})

const names = {}
for (const f of result.outputFiles) {
  const rel = relative(out, f.path).split('\\').join('/')
  const m = /^assets\/(app|app-style)-([A-Z0-9]+)\.(js|css)$/.exec(rel)
  if (!m) throw new Error(`unexpected build output ${rel}`)
  // assets/app-<hash>.js and assets/app-<hash>.css
  const name = `assets/app-${m[2]}.${m[3]}`
  const text = Buffer.from(f.contents)
  if (/https?:\/\/[^\s"'`)]*\.(?:woff2?|ttf|otf|css)\b|@import\s+url\(\s*['"]?https?:/i.test(text.toString('utf8'))) {
    throw new Error(`${rel} loads a font or style sheet from elsewhere`)
  }
  mkdirSync(dirname(join(out, name)), { recursive: true })
  writeFileSync(join(out, name), text)
  names[m[3]] = name
}
if (!names.js || !names.css) throw new Error('the build made no script or no style sheet')

const html = readFileSync(join(here, 'src', 'index.html'), 'utf8')
  .replace('{{css}}', names.css)
  .replace('{{js}}', names.js)
if (html.includes('{{')) throw new Error('src/index.html has a placeholder the build does not fill')
writeFileSync(join(out, 'index.html'), html)
console.log(`built ${relative(process.cwd(), out) || '.'}: index.html, ${names.js}, ${names.css}`)
