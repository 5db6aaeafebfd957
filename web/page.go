package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// dist is the upload page as built from web/src by make web (esbuild,
// web/build.mjs): index.html and its content-hashed assets, committed so
// that the binary builds with Go alone.
//
//go:embed dist
var dist embed.FS

// Bounds of the page's files, checked once at startup.
const (
	maxPageFiles = 1000
	maxPageBytes = 64 << 20
)

// PageConfig configures the upload page. The zero value of every optional
// field selects the default written beside it.
type PageConfig struct {
	// Files holds the page: index.html at its root and its assets.
	// Files under assets/ are content-hashed (assets/app-<hash>.js and
	// .css, as web/build.mjs names them) and cached for a year; index.html is never cached; other files are
	// revalidated (ETag). Default: the embedded web/dist.
	Files fs.FS
	// ConnectSrc lists origins ("https://auth.example.com") besides the
	// page's own that it may fetch from: the token refresh URL's, when
	// that is on another origin. Default none.
	ConnectSrc []string
}

// Page serves the upload page at "/" and its files beside it, with strict
// security headers: a Content-Security-Policy allowing nothing but the
// page's own scripts, styles and connections (no inline script, nothing
// from elsewhere), nosniff, no referrer (the token lives in the URL
// fragment) and no framing.
type Page struct {
	files map[string]*pageFile // "/" for index.html, else "/<path>"
	csp   string
}

type pageFile struct {
	body        []byte
	contentType string
	cache       string
	etag        string
}

// pageTypes are the content types of the page's files, by extension (not
// the system's MIME tables: the answer must not depend on the host).
var pageTypes = map[string]string{
	".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
	".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
	".json": "application/json", ".map": "application/json", ".svg": "image/svg+xml",
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon",
	".woff": "font/woff", ".woff2": "font/woff2", ".wasm": "application/wasm",
	".txt": "text/plain; charset=utf-8", ".webmanifest": "application/manifest+json",
}

// NewPage loads the page's files (all in memory: it is small) and checks
// cfg.
func NewPage(cfg PageConfig) (*Page, error) {
	fsys := cfg.Files
	if fsys == nil {
		sub, err := fs.Sub(dist, "dist")
		if err != nil {
			return nil, err
		}
		fsys = sub
	}
	connect := []string{"'self'"}
	for _, o := range cfg.ConnectSrc {
		if !validOrigin(o) {
			return nil, fmt.Errorf("web: %q is not an origin (scheme://host[:port])", o)
		}
		connect = append(connect, o)
	}
	p := &Page{files: map[string]*pageFile{}, csp: contentSecurityPolicy(connect)}
	total := 0
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !validAssetName(name) {
			return fmt.Errorf("web: page file %q: want [A-Za-z0-9._-] names", name)
		}
		if len(p.files) == maxPageFiles {
			return fmt.Errorf("web: more than %d page files", maxPageFiles)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if total += len(body); total > maxPageBytes {
			return fmt.Errorf("web: page files larger than %d bytes", maxPageBytes)
		}
		sum := sha256.Sum256(body)
		f := &pageFile{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, cache: "no-cache"}
		if f.contentType = pageTypes[strings.ToLower(path.Ext(name))]; f.contentType == "" {
			f.contentType = "application/octet-stream"
		}
		switch {
		case name == "index.html":
			f.cache = "no-store"
			name = ""
		case strings.HasPrefix(name, "assets/"):
			f.cache = "public, max-age=31536000, immutable"
		}
		p.files["/"+name] = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p.files["/"] == nil {
		return nil, errors.New("web: the page has no index.html")
	}
	return p, nil
}

// contentSecurityPolicy is the page's policy: its own files only (images
// also from blob: and data: URLs, for previews), fetches to itself and
// connect, no plugins, no <base>, no forms, no framing.
func contentSecurityPolicy(connect []string) string {
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' blob: data:",
		"connect-src " + strings.Join(connect, " "),
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// Register adds GET / (index.html) and GET /<file> for each other file to
// mux: exact paths, so unknown paths stay 404 and never shadow the tus
// base path.
func (p *Page) Register(mux *http.ServeMux) {
	for name, f := range p.files {
		pattern := "GET " + name
		if name == "/" {
			pattern = "GET /{$}"
		}
		mux.Handle(pattern, p.serve(f))
	}
}

// serve answers one file with its headers (conditional requests and
// ranges by http.ServeContent).
func (p *Page) serve(f *pageFile) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", p.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", f.cache)
		h.Set("ETag", f.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	})
}

// validAssetName accepts slash-separated names of [A-Za-z0-9._-] (no
// empty, "." or ".." segments): safe in a mux pattern and a URL as they
// are.
func validAssetName(name string) bool {
	if !fs.ValidPath(name) || name == "." {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-', c == '/':
		default:
			return false
		}
	}
	return true
}

// validOrigin accepts http(s)://host[:port], nothing more.
func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == "" && !strings.ContainsAny(o, " ;'\",*")
}
