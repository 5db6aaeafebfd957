package api

import (
	"net/http"
	"time"

	"github.com/tusvault/tusvault/hooks"
)

// session is the answer of GET /api/session.
type session struct {
	// Kind is "home", "guest", or "public" with open uploads (-auth=none).
	Kind string `json:"kind"`
	// Account is a home token's sub; Owner and Share name a guest's share.
	Account string `json:"account,omitempty"`
	Owner   string `json:"owner,omitempty"`
	Share   string `json:"share,omitempty"`
	// Expires is the token's exp (null: none); Expired is true within the
	// resume grace: the token may only resume unfinished uploads.
	Expires *string `json:"expires"`
	Expired bool    `json:"expired"`
	Limits  limits  `json:"limits"`
	// FilesLeft is how many more uploads a guest's share may take under
	// max_files (null: no such limit).
	FilesLeft *int `json:"files_left"`

	// The page's upload settings.
	Endpoint        string  `json:"endpoint"`
	ChunkSize       int64   `json:"chunk_size"`
	RetryDelaysMs   []int64 `json:"retry_delays_ms"`
	TokenRefreshURL string  `json:"token_refresh_url"`
	ResumeGraceS    int64   `json:"resume_grace_s"`
}

type limits struct {
	// MaxSize is the largest upload in bytes (0: none): the smallest of
	// -max-size, the route's limit and the token's max_size.
	MaxSize int64 `json:"max_size"`
	// Types are the MIME patterns a file's type must match ([]: any).
	Types []string `json:"types"`
	// MaxFiles bounds the uploads of a guest's share (0: none).
	MaxFiles int `json:"max_files"`
}

// serveSession answers GET /api/session.
func (a *API) serveSession(w http.ResponseWriter, r *http.Request) error {
	p := a.cfg.Policy
	s := session{
		Kind:            hooks.RoutePublic,
		Limits:          limits{MaxSize: a.cfg.MaxSize, Types: []string{}},
		Endpoint:        a.cfg.BasePath,
		ChunkSize:       a.cfg.ChunkSize,
		RetryDelaysMs:   make([]int64, len(a.cfg.RetryDelays)),
		TokenRefreshURL: a.cfg.TokenRefreshURL,
		ResumeGraceS:    int64(p.ResumeGrace() / time.Second),
	}
	for i, d := range a.cfg.RetryDelays {
		s.RetryDelaysMs[i] = d.Milliseconds()
	}
	if !p.Open() {
		c, err := p.Authenticate(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			return err
		}
		s.Kind, s.Expires, s.Expired = c.Kind, timeText(c.Expires), c.Expired
		if c.Kind == hooks.KindGuest {
			s.Owner, s.Share = c.Owner, c.Share
		} else {
			s.Account = c.Subject
		}
		l := p.Limits(c)
		s.Limits.MaxSize = smallest(a.cfg.MaxSize, l.MaxSize)
		s.Limits.MaxFiles = l.MaxFiles
		if l.Types != nil {
			s.Limits.Types = l.Types
		}
		left, ok, err := p.FilesLeft(r.Context(), c)
		if err != nil {
			return err
		}
		if ok {
			s.FilesLeft = &left
		}
	}
	return writeJSON(w, r, s)
}

// smallest is the smallest non-zero limit (0: none).
func smallest(a, b int64) int64 {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}
