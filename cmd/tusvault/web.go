package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tusvault/tusvault/web/api"
)

// Bounds of the web page flags.
const (
	// minWebChunk is the smallest -web-chunk-size: every PATCH is a
	// segment of its upload, and an upload takes at most 100,000.
	minWebChunk = 1 << 20
	// maxRetryDelays and maxRetryDelay bound -web-retry-delays.
	maxRetryDelays = 32
	maxRetryDelay  = time.Hour
)

// webFlags configure the upload page at "/" and its API (web, web/api).
type webFlags struct {
	WebChunkSize       byteSize     // -web-chunk-size, default 0 (one PATCH per file)
	WebRetryDelays     durationList // -web-retry-delays, default 0s,1s,3s,10s,30s,1m,2m (api.DefaultRetryDelays)
	WebTokenRefreshURL string       // -web-token-refresh-url, default "" (the page does not refresh tokens)
}

func defaultWebFlags() webFlags {
	return webFlags{WebRetryDelays: durationList(api.DefaultRetryDelays)}
}

// register binds the web page flags to w, with w's values as defaults.
func (w *webFlags) register(fs *flag.FlagSet) {
	fs.Var(&w.WebChunkSize, "web-chunk-size", "Largest request `size` the upload page sends: it splits files into PATCH requests of this size (bytes, or with KiB, MiB, GiB, KB, MB, GB; 0: one PATCH per file; at least 1MiB). Set it below the body limit of a proxy in front of tusvault, best as a multiple of -part-size (Cloudflare's 100 MB: 90MiB)")
	fs.Var(&w.WebRetryDelays, "web-retry-delays", "Comma-separated `delays` the upload page waits before each retry of a failed request (Go durations: 0,1s,3s,10s,30s,1m,2m); it keeps retrying at the last one, so uploads survive hours of flaky network. Empty: no retries")
	fs.StringVar(&w.WebTokenRefreshURL, "web-token-refresh-url", w.WebTokenRefreshURL, "`URL` (a path on this origin, or an http(s) URL of the host application, which must then allow CORS) where the upload page fetches a fresh token as the current one nears its expiry: POST with 'Authorization: Bearer <current token>' and the host's cookies, answered 200 with JSON {\"token\": \"<jwt>\"}. Default: none")
}

// validate reports the first invalid web page flag in one line.
func (w *webFlags) validate() error {
	if w.WebChunkSize != 0 && w.WebChunkSize < minWebChunk {
		return fmt.Errorf("invalid -web-chunk-size %d: must be 0 (one request per file) or at least 1MiB", w.WebChunkSize)
	}
	if len(w.WebRetryDelays) > maxRetryDelays {
		return fmt.Errorf("invalid -web-retry-delays: more than %d delays", maxRetryDelays)
	}
	for _, d := range w.WebRetryDelays {
		if d > maxRetryDelay {
			return fmt.Errorf("invalid -web-retry-delays: %s is longer than %s", d, maxRetryDelay)
		}
	}
	if _, err := refreshOrigin(w.WebTokenRefreshURL); err != nil {
		return fmt.Errorf("invalid -web-token-refresh-url: %w", err)
	}
	return nil
}

// refreshOrigin checks a -web-token-refresh-url and returns its origin
// when it is on another one ("" for a path on this origin, or none).
func refreshOrigin(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if strings.ContainsAny(v, " \t\r\n\"'<>\\") {
		return "", errors.New("must be a URL without spaces or quotes")
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return "", errors.New("must be a URL")
	case u.Fragment != "" || u.User != nil:
		return "", errors.New("must carry no fragment and no credentials")
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//"):
		return "", nil // a path on this origin
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "":
		return u.Scheme + "://" + u.Host, nil
	}
	return "", errors.New("must be a path starting with / or an http(s) URL")
}

// durationList is a flag.Value: comma-separated Go durations, none
// negative; empty is an empty list.
type durationList []time.Duration

func (l *durationList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(*l))
	for i, d := range *l {
		parts[i] = shortDuration(d)
	}
	return strings.Join(parts, ",")
}

func (l *durationList) Set(s string) error {
	list := durationList{}
	if strings.TrimSpace(s) != "" {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			d, err := time.ParseDuration(part)
			if err != nil || d < 0 {
				return fmt.Errorf("%q is not a duration such as 0, 500ms, 10s or 2m", part)
			}
			list = append(list, d)
		}
	}
	*l = list
	return nil
}
