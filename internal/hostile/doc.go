// Package hostile throws hostile HTTP input at the upload stack in
// process: the handler chain cmd/tusvault serves (the base path through
// http.StripPrefix to hooks.Policy.Middleware and tusd's handler with the
// hooks, the page's API beside it) over the encrypted store on a temp
// disk directory with the file locker, as the binary runs it.
//
// TestHostileRequests is a table of malformed, ambiguous and malicious
// requests (absurd Upload-Length and Upload-Offset values, duplicate and
// conflicting headers, huge or invalid Upload-Metadata, method-override
// tricks, upload-id path tricks, bad Range headers, forged download
// links, bad API queries) with the status each must get. After each one
// it checks that nothing panicked, that no goroutine or file descriptor
// was left behind, and that no stored file changed unless the request
// was a legitimate write. FuzzRequest mutates the same requests (its
// seed corpus is the table) and checks the same properties. Cases that
// need a real server (header size limits, slowloris, the router in
// front of the handlers) run against the binary in internal/e2e.
//
// The package has no code of its own besides this comment: everything
// is in its tests.
package hostile
