package hooks

import (
	"strings"
	"sync/atomic"
)

// RefusalReasons are the reasons Policy.Refusals counts requests refused
// by, a fixed set: why a token was refused (see refusalReason: no_token,
// malformed, bad_signature, expired, …), or why a valid token may not act
// on an upload (not_found: not its upload; forbidden: its role may not do
// that), or why a download link was refused (bad_link: forged, altered,
// for another upload or not a GET; link_expired). Counters carry no
// token, user or upload.
var RefusalReasons = [...]string{
	"no_token", "malformed", "bad_signature", "expired", "not_yet_valid",
	"issued_in_the_future", "wrong_audience", "wrong_issuer", "missing_iss_or_aud",
	"wrong_algorithm", "no_account", "bad_claim", "invalid",
	"not_found", "forbidden", "bad_link", "link_expired",
}

// refusals counts refused requests by RefusalReasons.
type refusals [len(RefusalReasons)]atomic.Int64

// Refusals returns how many requests the policy refused, by reason (every
// reason of RefusalReasons is present).
func (p *Policy) Refusals() map[string]int64 {
	m := make(map[string]int64, len(RefusalReasons))
	for i, r := range RefusalReasons {
		m[r] = p.refused[i].Load()
	}
	return m
}

// refuseFor counts a refusal; reason is a refusalReason text or a
// RefusalReasons label ("no token" and "no_token" are one).
func (p *Policy) refuseFor(reason string) {
	p.refused[refusalIndex(strings.ReplaceAll(reason, " ", "_"))].Add(1)
}

// refusalIndex is the index of label in RefusalReasons; an unknown label
// counts as "invalid".
func refusalIndex(label string) int {
	for i, r := range RefusalReasons {
		if r == label {
			return i
		}
	}
	return refusalIndex("invalid")
}

// accessReason is the refusal reason of an access rule's error, or "" for
// one that is not about access.
func accessReason(code string) string {
	switch code {
	case errNotFound.ErrorCode:
		return "not_found"
	case errGuestCannotDownload.ErrorCode, errOwnerReadOnly.ErrorCode, errGuestCannotList.ErrorCode:
		return "forbidden"
	case errBadLink.ErrorCode:
		return "bad_link"
	case errLinkExpired.ErrorCode:
		return "link_expired"
	}
	return ""
}
