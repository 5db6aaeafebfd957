// Package tusclient is a small tus 1.0 client over net/http, written for
// tusvault's end-to-end tests and benchmarks.
//
// It speaks the core protocol (POST creation, HEAD, PATCH) plus the
// creation-defer-length and termination extensions and plain GET (with an
// optional Range header). Every request carries "Tus-Resumable: 1.0.0" and the
// headers of Client.Header (for example an Authorization header).
//
// Methods return typed results. When the server answers with an unexpected
// HTTP status, the error wraps a *StatusError that carries the status and the
// (truncated) response body:
//
//	var se *tusclient.StatusError
//	if errors.As(err, &se) && se.Status == http.StatusConflict { ... }
//
// The client never buffers an upload: PATCH bodies are streamed from the
// io.Reader given, with a Content-Length when the size is known and chunked
// transfer encoding when it is not.
package tusclient
