package hostile

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// hostileCase is one request of the table and the answer it must get:
// want is the status, body a substring of the answer's body ("": any).
type hostileCase struct {
	name string
	req  request
	want int
	body string
}

const ctOffset = "Content-Type: application/offset+octet-stream"

// post is a creation by tok with the given header lines.
func post(tok int, header ...string) request {
	return request{Method: http.MethodPost, Target: basePath, Auth: tok, Header: header}
}

// postBody is a creation by tok sending body.
func postBody(tok int, body string, header ...string) request {
	r := post(tok, header...)
	r.Body = []byte(body)
	return r
}

// patch is a PATCH of upload by tok with body, Content-Type set.
func patch(tok int, upload string, body string, header ...string) request {
	return request{Method: http.MethodPatch, Target: basePath + upload, Auth: tok,
		Header: append([]string{ctOffset}, header...), Body: []byte(body)}
}

// on is a request without a body on target.
func on(method string, tok int, target string, header ...string) request {
	return request{Method: method, Target: target, Auth: tok, Header: header}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// manyPairs is an Upload-Metadata header of n distinct keys.
func manyPairs(n int) string {
	pairs := make([]string, n)
	for i := range pairs {
		pairs[i] = fmt.Sprintf("k%d %s", i, b64("v"))
	}
	return strings.Join(pairs, ",")
}

var (
	fileA  = basePath + "{A}"
	fileF  = basePath + "{F}"
	fileG  = basePath + "{G}"
	fileGF = basePath + "{GF}"
	fileB  = basePath + "{B}"
	fileE  = basePath + "{E}"
	body10 = "0123456789"
)

// hostileCases are the table's requests (and FuzzRequest's seeds). The
// fixture's A has 40 of 100 bytes, F is complete with 50; see stack_test.go.
var hostileCases = []hostileCase{
	// ---- Upload-Length ----
	{"Upload-Length negative", post(tokAlice, "Upload-Length: -1"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length minus zero", post(tokAlice, "Upload-Length: -0"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length non-numeric", post(tokAlice, "Upload-Length: ten"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length empty", post(tokAlice, "Upload-Length: "), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length 2^63", post(tokAlice, "Upload-Length: 9223372036854775808"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length 2^64", post(tokAlice, "Upload-Length: 18446744073709551616"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length 2^63-1", post(tokAlice, "Upload-Length: 9223372036854775807"), 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
	{"Upload-Length one past the part limit", post(tokAlice, "Upload-Length: 53687091200001"), 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
	{"Upload-Length at the part limit", post(tokAlice, "Upload-Length: 53687091200000"), 201, ""},
	{"Upload-Length with a leading +", post(tokAlice, "Upload-Length: +10"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length with an inner space", post(tokAlice, "Upload-Length: 1 0"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length with an inner tab", post(tokAlice, "Upload-Length: 1\t0"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length with surrounding spaces", post(tokAlice, "Upload-Length:   10   "), 201, ""},
	{"Upload-Length hex", post(tokAlice, "Upload-Length: 0x10"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length exponent", post(tokAlice, "Upload-Length: 1e3"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length decimal", post(tokAlice, "Upload-Length: 10.0"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length underscore", post(tokAlice, "Upload-Length: 1_000"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length non-ASCII digits", post(tokAlice, "Upload-Length: ١٠"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length leading zeros", post(tokAlice, "Upload-Length: 000000000000000000000010"), 201, ""},
	{"Upload-Length comma list", post(tokAlice, "Upload-Length: 10, 20"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"Upload-Length missing", post(tokAlice), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"a guest's Upload-Length 2^63-1", post(tokGuest, "Upload-Length: 9223372036854775807"), 413, ""},
	{"Upload-Defer-Length 2", post(tokAlice, "Upload-Defer-Length: 2"), 400, "ERR_INVALID_UPLOAD_LENGTH_DEFER"},
	{"Upload-Defer-Length +1", post(tokAlice, "Upload-Defer-Length: +1"), 400, "ERR_INVALID_UPLOAD_LENGTH_DEFER"},

	// ---- duplicate and conflicting headers ----
	{"two Upload-Length", post(tokAlice, "Upload-Length: 10", "Upload-Length: 20"), 400, "ERR_DUPLICATE_HEADER"},
	{"two equal Upload-Length", post(tokAlice, "Upload-Length: 10", "Upload-Length: 10"), 400, "ERR_DUPLICATE_HEADER"},
	{"Upload-Length and Upload-Defer-Length", post(tokAlice, "Upload-Length: 10", "Upload-Defer-Length: 1"), 400, "ERR_AMBIGUOUS_UPLOAD_LENGTH"},
	{"two Upload-Defer-Length", post(tokAlice, "Upload-Defer-Length: 1", "Upload-Defer-Length: 1"), 400, "ERR_DUPLICATE_HEADER"},
	{"two Upload-Offset", patch(tokAlice, "{A}", body10, "Upload-Offset: 40", "Upload-Offset: 40"), 400, "ERR_DUPLICATE_HEADER"},
	{"two different Upload-Offset", patch(tokAlice, "{A}", body10, "Upload-Offset: 40", "Upload-Offset: 0"), 400, "ERR_DUPLICATE_HEADER"},
	{"two Authorization, the second a stranger's", on(http.MethodHead, tokAlice, fileA, "Authorization: Bearer {tok:2}"), 400, ""},
	{"two Authorization on a PATCH", patch(tokBob, "{A}", body10, "Upload-Offset: 40", "Authorization: Bearer {tok:1}"), 400, "ERR_DUPLICATE_HEADER"},
	{"two Authorization on a creation", post(tokAlice, "Upload-Length: 10", "Authorization: Bearer {tok:2}"), 400, "ERR_DUPLICATE_HEADER"},
	{"two tokens in one Authorization", on(http.MethodHead, tokNone, fileA, "Authorization: Bearer {tok:1}, Bearer {tok:2}"), 401, ""},
	{"two Content-Type on a PATCH", patch(tokAlice, "{A}", body10, "Upload-Offset: 40", "Content-Type: text/plain"), 400, "ERR_DUPLICATE_HEADER"},
	{"two Tus-Resumable", post(tokAlice, "Upload-Length: 10", "Tus-Resumable: 1.0.0", "Tus-Resumable: 0.2.0"), 400, "ERR_DUPLICATE_HEADER"},
	{"two Upload-Metadata", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: filename "+b64("a"), "Upload-Metadata: filename "+b64("b")), 400, "ERR_DUPLICATE_HEADER"},
	{"two X-HTTP-Method-Override", on(http.MethodPost, tokAlice, fileA, "X-HTTP-Method-Override: HEAD", "X-HTTP-Method-Override: DELETE"), 400, "ERR_DUPLICATE_HEADER"},
	{"Tus-Resumable missing on a PATCH", patch(tokAlice, "{A}", body10, "Upload-Offset: 40", "Tus-Resumable:"), 412, "ERR_UNSUPPORTED_VERSION"},
	{"Tus-Resumable 0.2.0 on a creation", post(tokAlice, "Upload-Length: 10", "Tus-Resumable: 0.2.0"), 412, "ERR_UNSUPPORTED_VERSION"},

	// ---- Upload-Metadata ----
	{"Upload-Metadata of 100 pairs", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: "+manyPairs(100)), 201, ""},
	{"Upload-Metadata of 101 pairs", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: "+manyPairs(101)), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata of 5000 pairs", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: "+manyPairs(5000)), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata with a megabyte value", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: filename "+b64(strings.Repeat("x", 1<<20))), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata just under 64 KiB", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: filename "+b64(strings.Repeat("x", 48000))), 201, ""},
	{"Upload-Metadata bad base64", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: filename !!!notbase64"), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata unpadded base64", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: filename aGVsbG8"), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata URL-safe base64", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: filename _-8="), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata duplicate keys", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: filename "+b64("a")+",filename "+b64("b")), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata non-UTF-8 value", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: filename "+b64("caf\xe9.txt")), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata non-ASCII key", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: имя "+b64("a")), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata three parts", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: a b c"), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata empty pair", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: filename "+b64("a")+",,x"), 400, "ERR_INVALID_METADATA"},
	{"Upload-Metadata NUL in a value", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: filename "+b64("a\x00b")), 201, ""},
	{"Upload-Metadata key alone", post(tokAlice, "Upload-Length: 10", "Upload-Metadata: flag"), 201, ""},

	// ---- Upload-Offset, Content-Type, bodies ----
	{"Upload-Offset negative", patch(tokAlice, "{A}", body10, "Upload-Offset: -1"), 400, "ERR_INVALID_OFFSET"},
	{"Upload-Offset missing", patch(tokAlice, "{A}", body10), 400, "ERR_INVALID_OFFSET"},
	{"Upload-Offset past the stored offset", patch(tokAlice, "{A}", body10, "Upload-Offset: 41"), 409, "ERR_MISMATCHED_OFFSET"},
	{"Upload-Offset past the length", patch(tokAlice, "{A}", body10, "Upload-Offset: 101"), 409, "ERR_MISMATCHED_OFFSET"},
	{"Upload-Offset 2^63-1", patch(tokAlice, "{A}", body10, "Upload-Offset: 9223372036854775807"), 409, "ERR_MISMATCHED_OFFSET"},
	{"Upload-Offset 2^63", patch(tokAlice, "{A}", body10, "Upload-Offset: 9223372036854775808"), 400, "ERR_INVALID_OFFSET"},
	{"Upload-Offset with a leading +", patch(tokAlice, "{A}", body10, "Upload-Offset: +40"), 400, "ERR_INVALID_OFFSET"},
	{"Upload-Offset hex", patch(tokAlice, "{A}", body10, "Upload-Offset: 0x28"), 400, "ERR_INVALID_OFFSET"},
	{"Upload-Offset with an inner space", patch(tokAlice, "{A}", body10, "Upload-Offset: 4 0"), 400, "ERR_INVALID_OFFSET"},
	{"Upload-Offset minus zero on an empty upload", patch(tokAlice, "{E}", "", "Upload-Offset: -0"), 400, "ERR_INVALID_OFFSET"},
	{"PATCH of the right offset", patch(tokAlice, "{A}", body10, "Upload-Offset: 40"), 204, ""},
	{"PATCH with a body past the length", patch(tokAlice, "{A}", strings.Repeat("y", 61), "Upload-Offset: 40"), 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
	{"PATCH with a chunked body past the length", patch(tokAlice, "{A}", strings.Repeat("y", 61), "Upload-Offset: 40", "Transfer-Encoding: chunked"), 413, ""},
	{"PATCH with a truncated body", patch(tokAlice, "{A}", body10, "Upload-Offset: 40", "Content-Length: 20"), 400, ""},
	{"PATCH without Content-Type", request{Method: http.MethodPatch, Target: fileA, Auth: tokAlice, Header: []string{"Upload-Offset: 40"}, Body: []byte(body10)}, 400, "ERR_INVALID_CONTENT_TYPE"},
	{"PATCH with Content-Type application/octet-stream", request{Method: http.MethodPatch, Target: fileA, Auth: tokAlice, Header: []string{"Upload-Offset: 40", "Content-Type: application/octet-stream"}, Body: []byte(body10)}, 400, "ERR_INVALID_CONTENT_TYPE"},
	{"PATCH with a Content-Type parameter", request{Method: http.MethodPatch, Target: fileA, Auth: tokAlice, Header: []string{"Upload-Offset: 40", "Content-Type: application/offset+octet-stream; charset=utf-8"}, Body: []byte(body10)}, 400, "ERR_INVALID_CONTENT_TYPE"},
	{"PATCH declaring the length of a sized upload", patch(tokAlice, "{A}", body10, "Upload-Offset: 40", "Upload-Length: 100"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"PATCH declaring a length below the offset", patch(tokAlice, "{D}", body10, "Upload-Offset: 10", "Upload-Length: 5"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"PATCH declaring a length with a +", patch(tokAlice, "{D}", body10, "Upload-Offset: 10", "Upload-Length: +20"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"PATCH declaring a length past the part limit", patch(tokAlice, "{D}", body10, "Upload-Offset: 10", "Upload-Length: 53687091200000"), 413, ""},
	{"PATCH declaring the length", patch(tokAlice, "{D}", body10, "Upload-Offset: 10", "Upload-Length: 20"), 204, ""},
	{"PATCH of a finished upload", patch(tokAlice, "{F}", body10, "Upload-Offset: 50"), 204, ""},
	{"creation with a body past its length", postBody(tokAlice, body10, "Upload-Length: 5", ctOffset), 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
	{"creation with a chunked body past its length", postBody(tokAlice, body10, "Upload-Length: 5", ctOffset, "Transfer-Encoding: chunked"), 413, ""},
	{"creation with its whole body", postBody(tokAlice, body10, "Upload-Length: 10", ctOffset), 201, ""},
	{"creation with a body cut short", postBody(tokAlice, body10, "Upload-Length: 20", ctOffset, "Content-Length: 20"), 400, "ERR_UNEXPECTED_EOF"},
	{"creation ignoring Upload-Concat", post(tokAlice, "Upload-Length: 10", "Upload-Concat: final;/files/{A} /files/{B}"), 201, ""},

	// ---- X-HTTP-Method-Override ----
	{"override to DELETE by a stranger", on(http.MethodPost, tokBob, fileA, "X-HTTP-Method-Override: DELETE"), 404, ""},
	{"override to DELETE by a guest on the owner's upload", on(http.MethodPost, tokGuest, fileA, "X-HTTP-Method-Override: DELETE"), 404, ""},
	{"override to DELETE by the share owner", on(http.MethodPost, tokAlice, fileG, "X-HTTP-Method-Override: DELETE"), 403, "ERR_UPLOAD_READ_ONLY"},
	{"override to DELETE without a token", on(http.MethodPost, tokNone, fileA, "X-HTTP-Method-Override: DELETE"), 401, ""},
	{"override to DELETE within the resume grace", on(http.MethodPost, tokAliceGrace, fileA, "X-HTTP-Method-Override: DELETE"), 401, "ERR_TOKEN_EXPIRED"},
	{"override to DELETE by the uploader", on(http.MethodPost, tokAlice, fileA, "X-HTTP-Method-Override: DELETE"), 204, ""},
	{"override to GET by a guest", on(http.MethodPost, tokGuest, fileGF, "X-HTTP-Method-Override: GET"), 403, "ERR_GUEST_CANNOT_DOWNLOAD"},
	{"override to GET by the owner", on(http.MethodPost, tokAlice, fileF, "X-HTTP-Method-Override: GET"), 200, ""},
	{"override to PATCH by a stranger", request{Method: http.MethodPost, Target: fileA, Auth: tokBob, Header: []string{"X-HTTP-Method-Override: PATCH", ctOffset, "Upload-Offset: 40"}, Body: []byte(body10)}, 404, ""},
	{"override to PATCH by the uploader", request{Method: http.MethodPost, Target: fileA, Auth: tokAlice, Header: []string{"X-HTTP-Method-Override: PATCH", ctOffset, "Upload-Offset: 40"}, Body: []byte(body10)}, 204, ""},
	{"override to OPTIONS", on(http.MethodPost, tokNone, fileA, "X-HTTP-Method-Override: OPTIONS"), 200, ""},
	{"override to POST on an upload", on(http.MethodPost, tokAlice, fileA, "X-HTTP-Method-Override: POST"), 405, ""},
	{"override to garbage", on(http.MethodPost, tokAlice, fileA, "X-HTTP-Method-Override: FROB"), 405, ""},
	{"override to lower-case delete", on(http.MethodPost, tokAlice, fileA, "X-HTTP-Method-Override: delete"), 405, ""},
	{"override to lower-case delete by a stranger", on(http.MethodPost, tokBob, fileA, "X-HTTP-Method-Override: delete"), 405, ""},
	{"override to GET on the creation endpoint", on(http.MethodPost, tokAlice, basePath, "X-HTTP-Method-Override: GET"), 405, ""},
	{"override to DELETE on the creation endpoint", on(http.MethodPost, tokNone, basePath, "X-HTTP-Method-Override: DELETE"), 405, ""},
	{"override to HEAD", on(http.MethodPost, tokAlice, fileA, "X-HTTP-Method-Override: HEAD"), 200, ""},
	{"override to HEAD by the share owner", on(http.MethodPost, tokAlice, fileG, "X-HTTP-Method-Override: HEAD"), 200, ""},
	{"override on a GET", on(http.MethodGet, tokBob, fileA, "X-HTTP-Method-Override: DELETE"), 404, ""},
	{"override on a GET by the uploader", on(http.MethodGet, tokAlice, fileF, "X-HTTP-Method-Override: DELETE"), 200, ""},
	{"override on a HEAD", on(http.MethodHead, tokAlice, fileA, "X-HTTP-Method-Override: DELETE"), 200, ""},
	{"override on a PATCH", patch(tokAlice, "{A}", body10, "Upload-Offset: 40", "X-HTTP-Method-Override: DELETE"), 204, ""},
	{"lower-case override header name", on(http.MethodPost, tokBob, fileA, "x-http-method-override: DELETE"), 404, ""},

	// ---- the IETF draft form (the stack enables it) ----
	{"draft creation with a file name not in UTF-8", postBody(tokAlice, body10, "Upload-Draft-Interop-Version: 6", "Upload-Complete: ?1",
		"Content-Disposition: attachment; filename=\"caf\xe9.txt\"", "Tus-Resumable:"), 400, "ERR_INVALID_METADATA"},
	{"draft creation with Upload-Length +10", postBody(tokAlice, body10, "Upload-Draft-Interop-Version: 6", "Upload-Complete: ?1",
		"Upload-Length: +10", "Tus-Resumable:"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"draft creation with a body past its length", postBody(tokAlice, body10, "Upload-Draft-Interop-Version: 6", "Upload-Complete: ?1",
		"Upload-Length: 5", "Tus-Resumable:"), 400, "ERR_INVALID_UPLOAD_LENGTH"},
	{"draft creation of a first part past its length", postBody(tokAlice, body10, "Upload-Draft-Interop-Version: 6",
		"Upload-Length: 5", "Tus-Resumable:"), 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
	{"draft creation with a chunked body past its length", postBody(tokAlice, body10, "Upload-Draft-Interop-Version: 6", "Upload-Complete: ?1",
		"Upload-Length: 5", "Transfer-Encoding: chunked", "Tus-Resumable:"), 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
	{"draft creation with a broken Content-Disposition", postBody(tokAlice, body10, "Upload-Draft-Interop-Version: 6", "Upload-Complete: ?1",
		`Content-Disposition: "`, "Tus-Resumable:"), 400, "ERR_INVALID_CONTENT_DISPOSITION"},
	{"draft creation with a broken Content-Type", postBody(tokAlice, body10, "Upload-Draft-Interop-Version: 6", "Upload-Complete: ?1",
		"Content-Type: /", "Tus-Resumable:"), 400, "ERR_INVALID_CONTENT_TYPE"},
	{"draft creation with a bad Content-Type parameter", postBody(tokAlice, body10, "Upload-Draft-Interop-Version: 6", "Upload-Complete: ?1",
		"Content-Type: text/plain; =x", "Tus-Resumable:"), 400, "ERR_INVALID_CONTENT_TYPE"},
	{"draft creation with two interop versions", postBody(tokAlice, body10, "Upload-Draft-Interop-Version: 6", "Upload-Draft-Interop-Version: 3",
		"Upload-Complete: ?1", "Tus-Resumable:"), 400, "ERR_DUPLICATE_HEADER"},
	{"draft creation", postBody(tokAlice, body10, "Upload-Draft-Interop-Version: 6", "Upload-Complete: ?1", "Tus-Resumable:"), 201, ""},
	{"draft HEAD by the share owner", on(http.MethodHead, tokAlice, fileG, "Upload-Draft-Interop-Version: 6", "Tus-Resumable:"), 204, ""},
	{"draft PATCH with a negative offset", patch(tokAlice, "{A}", body10, "Upload-Draft-Interop-Version: 6", "Upload-Offset: -40", "Tus-Resumable:"), 400, "ERR_INVALID_OFFSET"},

	// ---- upload-id paths ----
	{"dot-dot into another account", on(http.MethodHead, tokAlice, basePath+"home/alice/../bob/{B.rand}"), 307, ""},
	{"escaped dot-dot into another account", on(http.MethodHead, tokAlice, basePath+"home/alice/%2e%2e/bob/{B.rand}"), 404, ""},
	{"escaped slashes", on(http.MethodHead, tokAlice, basePath+"home%2Falice%2F{A.rand}"), 200, ""},
	{"escaped slashes into another account", on(http.MethodHead, tokAlice, basePath+"home%2Fbob%2F{B.rand}"), 404, ""},
	{"double slash", on(http.MethodHead, tokAlice, basePath+"/{A}"), 307, ""},
	{"double slash inside the id", on(http.MethodHead, tokAlice, basePath+"home//alice/{A.rand}"), 307, ""},
	{"trailing slash", on(http.MethodHead, tokAlice, fileA+"/"), 200, ""},
	{"trailing dot", on(http.MethodHead, tokAlice, fileA+"."), 404, ""},
	{"trailing dots", on(http.MethodHead, tokAlice, fileA+"..."), 404, ""},
	{"trailing slash-dot", on(http.MethodHead, tokAlice, fileA+"/."), 307, ""},
	{"very long id", on(http.MethodHead, tokAlice, basePath+"home/alice/"+strings.Repeat("a", 8000)), 404, ""},
	{"many segments", on(http.MethodHead, tokAlice, basePath+strings.Repeat("a/", 2000)+"{A.rand}"), 404, ""},
	{"id with .info", on(http.MethodGet, tokAlice, fileA+".info"), 404, ""},
	{"id with .part", on(http.MethodGet, tokAlice, fileA+".part"), 404, ""},
	{"metadata sidecar", on(http.MethodGet, tokAlice, basePath+".tusvault/meta/{F}"), 404, ""},
	{"keyring", on(http.MethodGet, tokAlice, basePath+"keyring.json"), 404, ""},
	{"NUL in the id", on(http.MethodHead, tokAlice, fileA+"%00"), 404, ""},
	{"upper-case route", on(http.MethodHead, tokAlice, basePath+"HOME/alice/{A.rand}"), 404, ""},
	{"upper-case rand", on(http.MethodHead, tokAlice, basePath+"home/alice/"+strings.ToUpper("{A.rand}")), 404, ""},
	{"backslashes", on(http.MethodHead, tokAlice, basePath+`home\alice\{A.rand}`), 404, ""},
	{"the api's route under the base path", on(http.MethodGet, tokAlice, basePath+"api/session"), 404, ""},
	{"the status route under the base path", on(http.MethodGet, tokAlice, basePath+"upload/ram-status"), 404, ""},
	{"a share's directory", on(http.MethodGet, tokAlice, basePath+"guest/alice/trip"), 404, ""},
	{"another account's upload", on(http.MethodHead, tokAlice, fileB), 404, ""},
	{"another account's PATCH", patch(tokAlice, "{B}", body10, "Upload-Offset: 10"), 404, ""},
	{"another account's DELETE", on(http.MethodDelete, tokAlice, fileB), 404, ""},
	{"another share's upload", on(http.MethodHead, tokOtherShare, fileG), 404, ""},
	{"a stranger's GET of a guest upload", on(http.MethodGet, tokBob, fileGF), 404, ""},
	{"a public id with tokens on", on(http.MethodHead, tokAlice, basePath+"public/{rand}"), 404, ""},
	{"a public id without a token", on(http.MethodHead, tokNone, basePath+"public/{rand}"), 404, ""},
	{"an unknown id of the account", on(http.MethodHead, tokAlice, basePath+"{unknown}"), 404, ""},
	{"an unknown id's PATCH", patch(tokAlice, "{unknown}", body10, "Upload-Offset: 0"), 404, ""},
	{"an absolute-form target", on(http.MethodHead, tokAlice, "http://elsewhere.test"+fileA), 200, ""},
	{"the base path without its slash", on(http.MethodGet, tokAlice, strings.TrimSuffix(basePath, "/")), 405, ""},
	{"creation without its slash", request{Method: http.MethodPost, Target: strings.TrimSuffix(basePath, "/"), Auth: tokAlice, Header: []string{"Upload-Length: 10"}}, 201, ""},
	{"a PUT of an upload", on(http.MethodPut, tokAlice, fileA), 405, ""},
	{"an OPTIONS of an upload", on(http.MethodOptions, tokNone, fileB), 200, ""},

	// ---- tokens and roles ----
	{"no token", on(http.MethodHead, tokNone, fileA), 401, ""},
	{"forged token", on(http.MethodHead, tokForged, fileA), 401, ""},
	{"garbage token", on(http.MethodHead, tokGarbage, fileA), 401, ""},
	{"Basic credentials", on(http.MethodHead, tokBasic, fileA), 401, ""},
	{"expired past the grace", patch(tokAlicePast, "{A}", body10, "Upload-Offset: 40"), 401, "ERR_TOKEN_EXPIRED"},
	{"within the grace on a finished upload", patch(tokAliceGrace, "{F}", body10, "Upload-Offset: 50"), 401, "ERR_TOKEN_EXPIRED"},
	{"within the grace, a creation", post(tokAliceGrace, "Upload-Length: 10"), 401, "ERR_TOKEN_EXPIRED"},
	{"within the grace, a GET", on(http.MethodGet, tokAliceGrace, fileF), 401, "ERR_TOKEN_EXPIRED"},
	{"within the grace, a PATCH", patch(tokAliceGrace, "{A}", body10, "Upload-Offset: 40"), 204, ""},
	{"the guest within the grace", patch(tokGuestGrace, "{G}", body10, "Upload-Offset: 30"), 204, ""},
	{"the share owner's PATCH", patch(tokAlice, "{G}", body10, "Upload-Offset: 30"), 403, "ERR_UPLOAD_READ_ONLY"},
	{"the share owner's HEAD", on(http.MethodHead, tokAlice, fileG), 200, ""},
	{"the share owner's GET of an unfinished upload", on(http.MethodGet, tokAlice, fileG), 400, "ERR_INCOMPLETE_UPLOAD"},
	{"the share owner's GET", on(http.MethodGet, tokAlice, fileGF), 200, ""},
	{"the guest's GET", on(http.MethodGet, tokGuest, fileGF), 403, "ERR_GUEST_CANNOT_DOWNLOAD"},
	{"the guest's DELETE", on(http.MethodDelete, tokGuest, fileGF), 204, ""},
	{"a guest's creation with a deferred length", post(tokGuest, "Upload-Defer-Length: 1"), 201, ""},

	// ---- Range and If-Range ----
	{"Range of the first bytes", on(http.MethodGet, tokAlice, fileF, "Range: bytes=0-9"), 206, ""},
	{"Range reversed", on(http.MethodGet, tokAlice, fileF, "Range: bytes=9-0"), 200, ""},
	{"Range of several", on(http.MethodGet, tokAlice, fileF, "Range: bytes=0-9,20-29"), 200, ""},
	{"Range past the end", on(http.MethodGet, tokAlice, fileF, "Range: bytes=50-"), 416, "ERR_RANGE_NOT_SATISFIABLE"},
	{"Range far past the end", on(http.MethodGet, tokAlice, fileF, "Range: bytes=100-200"), 416, ""},
	{"Range ending past the end", on(http.MethodGet, tokAlice, fileF, "Range: bytes=40-200"), 206, ""},
	{"Range of a zero suffix", on(http.MethodGet, tokAlice, fileF, "Range: bytes=-0"), 416, ""},
	{"Range of a suffix longer than the file", on(http.MethodGet, tokAlice, fileF, "Range: bytes=-1000"), 206, ""},
	{"Range not a number", on(http.MethodGet, tokAlice, fileF, "Range: bytes=a-b"), 200, ""},
	{"Range beyond int64", on(http.MethodGet, tokAlice, fileF, "Range: bytes=0-99999999999999999999"), 200, ""},
	{"Range of a negative start", on(http.MethodGet, tokAlice, fileF, "Range: bytes=-5-10"), 200, ""},
	{"Range in another unit", on(http.MethodGet, tokAlice, fileF, "Range: items=0-1"), 200, ""},
	{"Range without a dash", on(http.MethodGet, tokAlice, fileF, "Range: bytes=5"), 200, ""},
	{"Range with If-Range", on(http.MethodGet, tokAlice, fileF, "Range: bytes=0-9", `If-Range: "x"`), 200, ""},
	{"Range with a date If-Range", on(http.MethodGet, tokAlice, fileF, "Range: bytes=0-9", "If-Range: Wed, 21 Oct 2015 07:28:00 GMT"), 200, ""},
	{"If-Range alone", on(http.MethodGet, tokAlice, fileF, `If-Range: "x"`), 200, ""},
	{"two Range headers", on(http.MethodGet, tokAlice, fileF, "Range: bytes=0-9", "Range: bytes=10-19"), 206, ""},
	{"Range of an unfinished upload", on(http.MethodGet, tokAlice, fileA, "Range: bytes=0-9"), 400, "ERR_INCOMPLETE_UPLOAD"},
	{"Range of an empty upload", on(http.MethodGet, tokAlice, fileE, "Range: bytes=0-9"), 200, ""},
	{"Range with a HEAD", on(http.MethodHead, tokAlice, fileF, "Range: bytes=0-9"), 200, ""},

	// ---- download links ----
	{"a download link", on(http.MethodGet, tokNone, fileF+"?download={link:F}"), 200, ""},
	{"a download link with a stranger's token", on(http.MethodGet, tokBob, fileF+"?download={link:F}"), 200, ""},
	{"a forged download link", on(http.MethodGet, tokNone, fileF+"?download=4102444800.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 403, "ERR_INVALID_LINK"},
	{"another upload's download link", on(http.MethodGet, tokNone, fileF+"?download={link:GF}"), 403, "ERR_INVALID_LINK"},
	{"a download link twice", on(http.MethodGet, tokNone, fileF+"?download={link:F}&download={link:F}"), 403, "ERR_INVALID_LINK"},
	{"a download link then a forged one", on(http.MethodGet, tokNone, fileF+"?download={link:F}&download=1.x"), 403, "ERR_INVALID_LINK"},
	{"a forged download link then a real one", on(http.MethodGet, tokNone, fileF+"?download=1.x&download={link:F}"), 403, "ERR_INVALID_LINK"},
	{"an empty download link", on(http.MethodGet, tokNone, fileF+"?download="), 403, "ERR_INVALID_LINK"},
	{"a bare download parameter", on(http.MethodGet, tokNone, fileF+"?download"), 403, "ERR_INVALID_LINK"},
	{"an upper-case download parameter", on(http.MethodGet, tokNone, fileF+"?DOWNLOAD={link:F}"), 401, ""},
	{"a badly escaped download link", on(http.MethodGet, tokNone, fileF+"?download=%zz"), 403, "ERR_INVALID_LINK"},
	{"a badly escaped download link with the owner's DELETE", on(http.MethodDelete, tokAlice, fileA+"?download=%"), 403, "ERR_INVALID_LINK"},
	{"an escaped download parameter name", on(http.MethodGet, tokNone, fileF+"?%64ownload={link:F}"), 401, ""},
	{"a download link after a semicolon", on(http.MethodGet, tokNone, fileF+"?x=1;download={link:F}"), 401, ""},
	{"a download link with a HEAD", on(http.MethodHead, tokNone, fileF+"?download={link:F}"), 403, ""},
	{"a download link with a DELETE", on(http.MethodDelete, tokNone, fileF+"?download={link:F}"), 403, "ERR_INVALID_LINK"},
	{"a download link with a DELETE by the owner", on(http.MethodDelete, tokAlice, fileF+"?download={link:F}"), 403, "ERR_INVALID_LINK"},
	{"a download link with a PATCH", patch(tokNone, "{F}?download={link:F}", body10, "Upload-Offset: 50"), 403, "ERR_INVALID_LINK"},
	{"a download link overridden to DELETE", on(http.MethodPost, tokNone, fileF+"?download={link:F}", "X-HTTP-Method-Override: DELETE"), 403, "ERR_INVALID_LINK"},
	{"a download link with a Range", on(http.MethodGet, tokNone, fileF+"?download={link:F}", "Range: bytes=0-4"), 206, ""},
	{"a download link of an unfinished upload", on(http.MethodGet, tokNone, fileA+"?download={link:A}"), 400, "ERR_INCOMPLETE_UPLOAD"},
	{"a download link with a long value", on(http.MethodGet, tokNone, fileF+"?download="+strings.Repeat("9", 5000)), 403, "ERR_INVALID_LINK"},

	// ---- the page's API ----
	{"api limit not a number", on(http.MethodGet, tokAlice, "/api/uploads?limit=ten"), 400, "ERR_INVALID_LIMIT"},
	{"api limit zero", on(http.MethodGet, tokAlice, "/api/uploads?limit=0"), 400, "ERR_INVALID_LIMIT"},
	{"api limit negative", on(http.MethodGet, tokAlice, "/api/uploads?limit=-5"), 400, "ERR_INVALID_LIMIT"},
	{"api limit with a +", on(http.MethodGet, tokAlice, "/api/uploads?limit=+5"), 400, "ERR_INVALID_LIMIT"},
	{"api limit beyond int64", on(http.MethodGet, tokAlice, "/api/uploads?limit=99999999999999999999"), 200, ""},
	{"api limit large", on(http.MethodGet, tokAlice, "/api/uploads?limit=100000"), 200, ""},
	{"api limit twice", on(http.MethodGet, tokAlice, "/api/uploads?limit=1&limit=x"), 200, ""},
	{"api cursor garbage", on(http.MethodGet, tokAlice, "/api/uploads?cursor=garbage"), 400, "ERR_INVALID_CURSOR"},
	{"api cursor naming a path", on(http.MethodGet, tokAlice, "/api/uploads?cursor="+base64.RawURLEncoding.EncodeToString([]byte("1 0 ../../keyring"))), 400, "ERR_INVALID_CURSOR"},
	{"api cursor of another account", on(http.MethodGet, tokAlice, "/api/uploads?cursor="+base64.RawURLEncoding.EncodeToString([]byte("1 9223372036854775807 home/bob/0"))), 200, ""},
	{"api cursor badly escaped", on(http.MethodGet, tokAlice, "/api/uploads?cursor=%zz"), 200, ""},
	{"api cursor huge", on(http.MethodGet, tokAlice, "/api/uploads?cursor="+strings.Repeat("A", 5000)), 400, "ERR_INVALID_CURSOR"},
	{"api uploads without a token", on(http.MethodGet, tokNone, "/api/uploads"), 401, "ERR_UNAUTHORIZED"},
	{"api uploads with a guest token", on(http.MethodGet, tokGuest, "/api/uploads"), 403, "ERR_GUEST_CANNOT_LIST"},
	{"api uploads within the grace", on(http.MethodGet, tokAliceGrace, "/api/uploads"), 401, "ERR_TOKEN_EXPIRED"},
	{"api uploads with two tokens", on(http.MethodGet, tokBob, "/api/uploads", "Authorization: Bearer {tok:1}"), 400, "ERR_DUPLICATE_HEADER"},
	{"api session with two tokens", on(http.MethodGet, tokBob, "/api/session", "Authorization: Bearer {tok:1}"), 400, "ERR_DUPLICATE_HEADER"},
	{"api uploads POST", on(http.MethodPost, tokAlice, "/api/uploads"), 405, "ERR_METHOD_NOT_ALLOWED"},
	{"api uploads overridden to DELETE", on(http.MethodPost, tokAlice, "/api/uploads", "X-HTTP-Method-Override: DELETE"), 405, ""},
	{"api session with a junk query", on(http.MethodGet, tokAlice, "/api/session?%00=%zz&&&=&download=1"), 200, ""},
	{"api uploads with a trailing slash", on(http.MethodGet, tokAlice, "/api/uploads/"), 404, ""},
	{"api dot-dot to the base path", on(http.MethodGet, tokAlice, "/api/../files/{A}"), 307, ""},
}
