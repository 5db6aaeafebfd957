// Package hooks holds what tusvault checks and decides about a request
// before tusd's handler stores a byte: bearer tokens, the routing of new
// uploads, the authorization of every request on an existing one, and
// tusd-compatible external hooks.
//
// # Routing
//
// A Policy's PreCreate (tusd's pre-create callback) parses Upload-Metadata
// strictly (ParseMetadata), verifies the creator's token and hands out the
// upload id, which is also the object key and carries the route:
//
//	home/<Segment(sub)>/<rand>                       home token
//	guest/<Segment(owner)>/<Segment(share)>/<rand>   guest (share) token
//	public/<rand>                                    open uploads (-auth=none)
//
// <rand> is 128 random bits in hex; the prefixes are configurable. File
// names never enter keys. The real account, owner and share names go to
// the upload's Storage ("Route", "Owner", "Share"), which the store seals
// into .info. Per-route limits (Config.HomeMaxSize, GuestMaxSize and the
// token's max_size: the smaller wins; the token's types against the
// declared filetype; max_files per share, counted by listing the share's
// .info objects plus the ids handed out and not yet stored) refuse a
// creation before anything is written.
//
// # Authorization without a lookup
//
// Middleware runs in front of tusd. Because the store binds every .info to
// its key (and every AAD and the v1 tag bind the id), the route, owner and
// share segments of an id are the route recorded for that upload: the
// access check reads them from the URL and needs no storage round trip.
// This replaces a short-lived cache of .info: it is strictly cheaper and
// cannot go stale. A refused request never reaches tusd, so it takes no
// upload lock and never asks a running PATCH to release one.
//
// Multi-hour uploads outlive short-lived tokens: a token whose signature
// is valid and that expired less than the resume grace ago
// (AuthConfig.ResumeGrace) may still HEAD or PATCH an unfinished upload of
// its own account or share; creating, downloading, DELETE and any request
// on a finished upload need a live token. Whether an upload is finished is
// read from the store (Uploads.Peek) for such tokens only.
//
// Nobody but the uploader interrupts a running PATCH: the share owner's
// HEAD of a guest upload is answered from the stored state and its GET
// waits for a complete upload (423 while a request holds it), since tusd
// asks the lock holder to let go on every request it serves.
//
// # The IETF draft
//
// With Config.EnableExperimentalProtocol (tusd's EnableExperimentalProtocol,
// -enable-experimental-protocol), tusd also serves the IETF resumable
// upload draft, interop versions 3 to 6: requests with an
// Upload-Draft-Interop-Version header and without Tus-Resumable. Its
// methods are tus 1.0's, so the Middleware and PreCreate apply unchanged:
// a creation (a POST on the base path, possibly carrying the whole body
// and Upload-Complete: ?1, answered with a 104 that carries the Location
// before the body is read) needs a live token and is routed and limited
// (the size from Upload-Length or, for a complete creation, from
// Content-Length); HEAD, PATCH, GET and DELETE follow the access table and
// the resume grace. What differs is in draft.go: the answers the
// Middleware writes itself (refusals, the share owner's HEAD) are in the
// draft form, as tusd's are; and tusd ignores Upload-Metadata in that form, so
// PreCreate stores the client's Upload-Metadata when it sends one (as
// tus-js-client does) and checks a guest token's types against the
// filetype that is stored.
//
// # External hooks
//
// HookHandler wraps a tusd hook backend (pkg/hooks/http, grpc, file,
// plugin) so that our routing runs first and the external pre-create hook
// sees, and may still reject, the routed upload; post-finish events carry
// the stored Storage (route, owner, share, key, v1 tag) and size, never key
// material.
//
// # Downloads
//
// For a GET the Middleware replaces the Content-Disposition tusd derives
// from the client's filename by ContentDisposition's: no path separators,
// control characters or quotes, RFC 6266 filename* for non-ASCII names.
//
// # Download links
//
// DownloadLink mints, for a live home token allowed to GET an upload (its
// own, or one of its shares'), a link usable in a plain <a href>:
//
//	<base path><id>?download=<expiry>.<signature>
//
// expiry is in Unix seconds, at most MaxLinkTTL (5 minutes) ahead; the
// signature is the unpadded base64url of HMAC-SHA256 over a domain string,
// the id and the expiry, keyed by Config.LinkKey (derived from the
// keyring's primary KEK, so every instance sharing the keyring agrees).
// The Middleware decides a GET carrying one by the link alone: valid for
// this id and not expired, it is served like the share owner's GET (only
// once the upload is complete, never interrupting a request that writes
// it), through tusd's verified download. The bearer token never enters a
// URL.
//
// # The upload page's questions
//
// Authenticate, Limits, FilesLeft, ListPrefixes and ResumeGrace answer
// the page's API (web/api) with the very rules the middleware and
// PreCreate apply, and count their refusals alike.
package hooks
