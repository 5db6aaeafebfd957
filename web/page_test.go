package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tusvault/tusvault/web"
)

func pageServer(t *testing.T, cfg web.PageConfig) *httptest.Server {
	t.Helper()
	p, err := web.NewPage(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The embedded page (web/dist, built from web/src): index.html at "/",
// never cached, under a strict policy, loading one script and one style
// sheet from assets/ (content-hashed, cached for good) and nothing from
// elsewhere.
func TestPageEmbedded(t *testing.T) {
	srv := pageServer(t, web.PageConfig{})
	resp, body := fetch(t, http.MethodGet, srv.URL+"/", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /: %s %v", resp.Status, resp.Header)
	}
	checkSecurityHeaders(t, resp.Header)
	// No inline script or style: every <script> has a src, no <style>,
	// no style= or on*= attributes, nothing from another origin.
	for _, re := range []string{`<script(?:\s+[^>]*)?>\s*[^<\s]`, `<style`, `\sstyle=`, `\son[a-z]+=`, `(?:src|href)="(?:https?:)?//`} {
		if regexp.MustCompile(re).MatchString(body) {
			t.Errorf("index.html matches %s:\n%s", re, body)
		}
	}
	assets := map[string]string{
		`<script type="module" src="(assets/app-[A-Z0-9]+\.js)">`:    "text/javascript; charset=utf-8",
		`<link rel="stylesheet" href="(assets/app-[A-Z0-9]+\.css)">`: "text/css; charset=utf-8",
	}
	for re, ctype := range assets {
		m := regexp.MustCompile(re).FindStringSubmatch(body)
		if m == nil {
			t.Errorf("index.html does not match %s", re)
			continue
		}
		resp, body := fetch(t, http.MethodGet, srv.URL+"/"+m[1], nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ctype ||
			resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || body == "" {
			t.Fatalf("GET /%s: %s %v", m[1], resp.Status, resp.Header)
		}
		checkSecurityHeaders(t, resp.Header)
		etag := resp.Header.Get("ETag")
		if resp, _ := fetch(t, http.MethodGet, srv.URL+"/"+m[1], http.Header{"If-None-Match": {etag}}); etag == "" || resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET /%s with If-None-Match %q: %s", m[1], etag, resp.Status)
		}
		if strings.HasSuffix(m[1], ".js") && !strings.Contains(body, "api/session") {
			t.Errorf("%s does not call api/session", m[1])
		}
	}
	if resp, body := fetch(t, http.MethodHead, srv.URL+"/", nil); resp.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD /: %s %q", resp.Status, body)
	}
	for _, p := range []string{"/index.html.bak", "/nope", "/app.js", "/assets/", "/assets/app.js"} {
		if resp, _ := fetch(t, http.MethodGet, srv.URL+p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}
	if resp, _ := fetch(t, http.MethodPost, srv.URL+"/", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %s", resp.Status)
	}
}

func mustGet(t *testing.T, url string) string {
	t.Helper()
	resp, body := fetch(t, http.MethodGet, url, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return body
}

func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q allows more than the page itself", csp)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

// A built page: hashed assets are cached for good, unknown types are
// octet-stream (with nosniff), another origin may be connected to.
func TestPageBuilt(t *testing.T) {
	files := fstest.MapFS{
		"index.html":               {Data: []byte("<!doctype html><script src=assets/index-B1x_9aZq.js></script>")},
		"assets/index-B1x_9aZq.js": {Data: []byte("console.log(1)")},
		"assets/uppy-Dq3.css":      {Data: []byte("body{}")},
		"favicon.ico":              {Data: []byte{0, 0, 1, 0}},
		"LICENSE":                  {Data: []byte("MIT")},
	}
	srv := pageServer(t, web.PageConfig{Files: files, ConnectSrc: []string{"https://auth.example.com"}})
	for path, want := range map[string][2]string{
		"/assets/index-B1x_9aZq.js": {"text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		"/assets/uppy-Dq3.css":      {"text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		"/favicon.ico":              {"image/x-icon", "no-cache"},
		"/LICENSE":                  {"application/octet-stream", "no-cache"},
		"/":                         {"text/html; charset=utf-8", "no-store"},
	} {
		resp, _ := fetch(t, http.MethodGet, srv.URL+path, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != want[0] || resp.Header.Get("Cache-Control") != want[1] {
			t.Errorf("GET %s: %s, %q, %q; want %q", path, resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://auth.example.com;") {
			t.Errorf("CSP %q", csp)
		}
	}
	for name, cfg := range map[string]web.PageConfig{
		"no index":       {Files: fstest.MapFS{"app.js": {Data: []byte("x")}}},
		"space in name":  {Files: fstest.MapFS{"index.html": {}, "a b.js": {}}},
		"brace in name":  {Files: fstest.MapFS{"index.html": {}, "{x}.js": {}}},
		"origin w/ path": {ConnectSrc: []string{"https://auth.example.com/token"}},
		"not an origin":  {ConnectSrc: []string{"'unsafe-inline'"}},
		"wildcard":       {ConnectSrc: []string{"https://*"}},
		"injection":      {ConnectSrc: []string{"https://a.example; script-src *"}},
	} {
		if _, err := web.NewPage(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
