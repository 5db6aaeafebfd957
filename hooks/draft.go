package hooks

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tus/tusd/v2/pkg/handler"
)

// The IETF resumable upload draft (draft-ietf-httpbis-resumable-upload),
// which tusd serves next to tus 1.0 when its EnableExperimentalProtocol is
// set (Config.EnableExperimentalProtocol mirrors it). A request is in the
// draft form when it carries an Upload-Draft-Interop-Version tusd supports;
// tusd then answers it in that form: no Tus-Resumable, Upload-Complete (or
// Upload-Incomplete for interop version 3) instead of Upload-Metadata, 204
// to a HEAD, a 104 informational answer with the Location before a creation
// reads its body. The methods are tus 1.0's (POST on the base path creates,
// HEAD, PATCH, GET and DELETE act on an upload), so the token, the routing,
// the access table and the resume grace apply to both forms alike.

// draftInteropVersions are the values of Upload-Draft-Interop-Version tusd
// v2.9.1 serves (getIETFDraftInteropVersion): "3" (draft -01), "4" (-02),
// "5" (-03), "6" (-04 and -05).
var draftInteropVersions = [...]string{"3", "4", "5", "6"}

// draftVersion is the interop version of a request in the draft form, or
// "" for a tus 1.0 request (or any request while the experimental protocol
// is off, which tusd then handles as tus 1.0).
func (p *Policy) draftVersion(h http.Header) string {
	if !p.cfg.EnableExperimentalProtocol {
		return ""
	}
	v := h.Get("Upload-Draft-Interop-Version")
	for _, s := range draftInteropVersions {
		if v == s {
			return v
		}
	}
	return ""
}

// draftComplete reports whether a request in the draft form of interop
// version v says it completes the upload (tusd's
// isIETFDraftUploadComplete): Upload-Incomplete: ?0 in version 3,
// Upload-Complete: ?1 later.
func draftComplete(h http.Header, v string) bool {
	if v == "3" {
		return h.Get("Upload-Incomplete") == "?0"
	}
	return h.Get("Upload-Complete") == "?1"
}

// draftHeadHeaders sets the headers tusd's HEAD answer in the draft form
// carries (besides Cache-Control and Upload-Offset), for fi and interop
// version v.
func (p *Policy) draftHeadHeaders(h http.Header, v string, fi handler.FileInfo) {
	complete := !fi.SizeIsDeferred && fi.Offset == fi.Size
	if v == "3" {
		h.Set("Upload-Incomplete", sfBool(!complete))
	} else {
		h.Set("Upload-Complete", sfBool(complete))
	}
	h.Set("Upload-Draft-Interop-Version", v)
	if !fi.SizeIsDeferred {
		h.Set("Upload-Length", strconv.FormatInt(fi.Size, 10))
	}
	h.Set("Upload-Limit", p.draftUploadLimit(fi))
}

// draftUploadLimit is tusd's Upload-Limit of an upload
// (getIETFDraftUploadLimits): tusd's MaxSize if set, else the upload's
// size once known.
func (p *Policy) draftUploadLimit(fi handler.FileInfo) string {
	limits := "min-size=0"
	switch {
	case p.cfg.MaxSize > 0:
		limits += ",max-size=" + strconv.FormatInt(p.cfg.MaxSize, 10)
	case !fi.SizeIsDeferred:
		limits += ",max-size=" + strconv.FormatInt(fi.Size, 10)
	}
	return limits
}

// sfBool is a structured-field boolean (RFC 8941).
func sfBool(b bool) string {
	if b {
		return "?1"
	}
	return "?0"
}

// creationMetadata is the metadata a creation request stores, checked by
// PreCreate (types) and, when replace is set, handed to tusd as
// FileInfoChanges.MetaData.
//
// In tus 1.0 it is the Upload-Metadata header, parsed strictly
// (ParseMetadata); tusd's lenient parse of a header that passes yields the
// same map. In the draft form tusd ignores Upload-Metadata and takes
// "filetype" from Content-Type and "filename" from Content-Disposition
// (ev.Upload.MetaData). Clients that speak both protocols, tus-js-client
// among them, still send Upload-Metadata in the draft form: when present it
// is parsed strictly and stored instead (replace), as in tus 1.0, so that
// the file name survives and a guest token's types are checked against the
// filetype that is stored, not against a header tusd would drop.
func (p *Policy) creationMetadata(ev handler.HookEvent) (meta map[string]string, replace bool, err error) {
	header := ev.HTTPRequest.Header.Get("Upload-Metadata")
	if p.draftVersion(ev.HTTPRequest.Header) == "" {
		meta, err = ParseMetadata(header)
		return meta, false, err
	}
	if strings.TrimSpace(header) == "" {
		meta = ev.Upload.MetaData
		if meta == nil {
			meta = map[string]string{}
		}
		for k, v := range meta {
			// From Content-Type and Content-Disposition, whose quoted
			// strings may hold any byte: held to ParseMetadata's UTF-8.
			if !utf8.ValidString(v) {
				return nil, false, errInvalidMetadata(fmt.Sprintf("value of %q is not UTF-8", k))
			}
		}
		return meta, false, nil
	}
	meta, err = ParseMetadata(header)
	return meta, err == nil, err
}
