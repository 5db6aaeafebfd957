// Package api is the small JSON API of the upload page (served at "/" by
// package web): who the page's bearer token is and how to upload, and the
// account's uploads with short-lived download links.
//
//	GET /api/session   the token's kind, account or share, expiry (and
//	                   whether it is within the resume grace), limits,
//	                   files left, and the page's upload settings
//	GET /api/uploads   home tokens only: the account's home uploads and
//	                   its shares' uploads, newest first, paginated with
//	                   ?limit=N (default 50, at most 200) and ?cursor=C;
//	                   finished ones carry a signed download link
//
// Both take "Authorization: Bearer <token>" and answer JSON with
// Cache-Control: no-store. Errors are tus-style "CODE: message" bodies
// with the status the middleware would use (401 with WWW-Authenticate for
// a missing, invalid or expired token; 403 ERR_GUEST_CANNOT_LIST; 400 for
// a bad limit or cursor). The API is same-origin: OPTIONS is answered 204
// with Allow and no CORS headers, so cross-origin browsers are refused.
//
// Every decision is the policy's (hooks.Policy: Authenticate, Limits,
// FilesLeft, ListPrefixes, DownloadLink), so the page is never told what a
// tus request would then refuse; listing is the store's
// (store.Store.ListUploads), which decrypts names server-side. File names
// and types are the client's: untrusted text, for textContent only.
package api
