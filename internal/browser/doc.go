// Package browser tests the upload page in a real browser against the
// real binary: Debian's Chromium, driven by playwright-core from the
// Node scripts in web/test/, loads the page that tusvault serves on a
// loopback port, on the embedded default (local disk) and on S3
// (versitygw, internal/s3server).
//
// TestMain builds tusvault. Each backend gets one server; the browser
// reaches it through a throttling TCP proxy (proxy_test.go) that the
// test can cut: all its connections closed and new ones refused for a
// while, as a dropped network would. The Go side mints the tokens
// (HS256, the server's secret), makes the files, starts the scripts with
// one JSON argument, reads the JSON lines they print and checks what
// the page cannot see: the server's "patch stored" log lines (the
// offset of every PATCH: it never goes back to 0 after an
// interruption), the bytes behind the page's download link (their
// SHA-256), the share's uploads as its owner lists them.
//
// The scenarios (web/test/*.mjs, sharing lib.mjs): home (a 40 MiB file
// through the proxy at 4 MiB/s, cut for 3 s after 12 MiB; the download
// link), resume (a reload and a
// closed tab mid-upload: the same upload resumes, Golden Retriever
// bringing the file back), guest (the share's limits; a file too large,
// one of the wrong kind and too many files refused with a sentence; a
// valid one uploaded; nothing to download), expired (expired, invalid
// and missing links), list (paging and names as text); TestTokenRefresh
// (refresh.mjs) serves a host application's refresh URL on another
// origin and checks that the page refreshes a token near its expiry and
// uploads with the fresh one. Each checks the
// console for Content-Security-Policy violations and page errors and
// runs an axe audit (WCAG 2.x A and AA) of each state: a serious or
// critical violation fails the test. Screenshots go to
// web/test/artifacts/<backend>/ (or $TUSVAULT_BROWSER_ARTIFACTS);
// with $TUSVAULT_SCREENSHOTS set (make screenshots), the README's
// copies are written there from the disk backend's run.
//
// The tests need node, web/node_modules (npm ci --prefix web) and
// Chromium (/usr/bin/chromium, or $TUSVAULT_CHROMIUM); make test
// installs them. Without them they fail in CI (env CI set) with the
// command to run, and are skipped elsewhere.
package browser
