package hooks

// Signed download links: a finished upload fetched with a plain <a href>,
// without the long-lived bearer token in the URL.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
)

const (
	// LinkParam is the query parameter carrying a download link's
	// signature: <upload URL>?download=<expiry>.<signature>.
	LinkParam = "download"
	// MaxLinkTTL is the longest (and default) lifetime of a download link.
	MaxLinkTTL = 5 * time.Minute
	// minLinkKey bounds Config.LinkKey.
	minLinkKey = 32
	// linkSkew is how far past now+MaxLinkTTL an expiry may lie and still
	// be honoured (a clock stepped back since the link was minted).
	linkSkew = time.Minute
	// linkDomain starts the signed message: a link of another purpose or
	// version never verifies as this one.
	linkDomain = "tusvault/download-link/v1"
)

var (
	errBadLink     = handler.NewError("ERR_INVALID_LINK", "the download link is not valid", http.StatusForbidden)
	errLinkExpired = authError("ERR_LINK_EXPIRED", "the download link has expired; ask for a new one", `Bearer realm="tusvault", error="invalid_token", error_description="the download link has expired"`)
	errNoLinks     = errors.New("hooks: download links are not configured")
)

// DownloadLink mints the value of the LinkParam query parameter of a link
// to the upload id, valid for Config.LinkTTL: the upload's URL (tusd's
// base path and the id) with "?download=" and this value is a GET that
// needs no bearer token. Links are minted only for a caller who may GET
// the upload, a live home token on its own upload or on one of its
// shares' (403 ERR_GUEST_CANNOT_DOWNLOAD for a guest, 404 for another's
// upload, 401 ERR_TOKEN_EXPIRED within the resume grace). The link is
// scoped to the id and its expiry; it reaches the upload only once it is
// complete (see Middleware). expires is when it stops working.
func (p *Policy) DownloadLink(c Claims, id string) (value string, expires time.Time, err error) {
	if p.cfg.LinkKey == nil {
		return "", time.Time{}, errNoLinks
	}
	rt, ok := p.layout.parse(id)
	if !ok || rt.Kind == RoutePublic {
		return "", time.Time{}, errNotFound
	}
	if herr := access(rt, c, http.MethodGet); herr != nil {
		return "", time.Time{}, *herr
	}
	exp := p.now().Add(p.cfg.LinkTTL).Unix()
	return strconv.FormatInt(exp, 10) + "." + p.linkSig(id, exp), time.Unix(exp, 0).UTC(), nil
}

// linkSig is the unpadded base64url of HMAC-SHA256(LinkKey, linkDomain ‖
// u16 len(id) ‖ id ‖ u64 exp), big-endian.
func (p *Policy) linkSig(id string, exp int64) string {
	m := hmac.New(sha256.New, p.cfg.LinkKey)
	b := make([]byte, 0, len(linkDomain)+2+len(id)+8)
	b = append(b, linkDomain...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(id)))
	b = append(b, id...)
	b = binary.BigEndian.AppendUint64(b, uint64(exp))
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkLink verifies the download link value of a request on the upload
// id: a canonical "<unix seconds>.<signature>" whose signature is the id's
// and whose expiry has not passed. A forged, altered or foreign link is
// 403 ERR_INVALID_LINK; a genuine one past its expiry 401
// ERR_LINK_EXPIRED.
func (p *Policy) checkLink(id, value string) *handler.Error {
	if p.cfg.LinkKey == nil || len(value) > 64 {
		return &errBadLink
	}
	expText, sig, ok := strings.Cut(value, ".")
	exp, err := strconv.ParseInt(expText, 10, 64)
	if !ok || err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != expText {
		return &errBadLink
	}
	if !hmac.Equal([]byte(sig), []byte(p.linkSig(id, exp))) {
		return &errBadLink
	}
	now := p.now()
	switch {
	case now.Unix() >= exp:
		return &errLinkExpired
	case time.Unix(exp, 0).After(now.Add(MaxLinkTTL + linkSkew)):
		// Never minted by a server whose clock is right.
		return &errBadLink
	}
	return nil
}

// linkValue returns the download link of a request (the LinkParam query
// parameter); ok is false when it carries none. A parameter given more
// than once, or whose value does not unescape (url.ParseQuery would drop
// it, and the request would go on as one without a link), yields "",
// which no link matches: a cache or proxy in front might read it
// otherwise than the policy.
func linkValue(r *http.Request) (string, bool) {
	raw := r.URL.RawQuery
	if !strings.Contains(raw, LinkParam) {
		return "", false
	}
	var values []string
	for pair := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if key, err := url.QueryUnescape(k); err != nil || key != LinkParam {
			continue
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			value = ""
		}
		values = append(values, value)
	}
	switch len(values) {
	case 0:
		return "", false
	case 1:
		return values[0], true
	}
	return "", true
}

// authorizeLink decides a request that carries a download link: only a
// GET, only with a valid link for this very id. The link stands for the
// owner who minted it; check then serves the upload only once complete,
// never interrupting a request that writes it.
func (p *Policy) authorizeLink(ctx context.Context, id, value, method string) (grant, *handler.Error) {
	if method != http.MethodGet {
		p.log.WarnContext(ctx, "download link refused", "reason", "not a GET", "method", method)
		return grant{}, &errBadLink
	}
	if err := p.checkLink(id, value); err != nil {
		reason := "bad link"
		if err.ErrorCode == errLinkExpired.ErrorCode {
			reason = "link expired"
		}
		p.log.WarnContext(ctx, "download link refused", "reason", reason)
		return grant{}, err
	}
	return grant{role: roleLink}, nil
}
