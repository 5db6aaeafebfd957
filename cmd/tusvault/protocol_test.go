package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// draftDo sends a request in the IETF draft form (interop version 6, no
// Tus-Resumable) and returns the answer and the informational codes before
// it.
func draftDo(t *testing.T, method, u string, h http.Header, body []byte) (*http.Response, []int) {
	t.Helper()
	var early []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		early = append(early, code)
		return nil
	}}
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	req.Header.Set("Upload-Draft-Interop-Version", "6")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, early
}

// -enable-experimental-protocol reaches tusd (draft creations are served,
// with their 104) and the policy (the share owner's HEAD, which the policy
// answers, is in the draft form and announces -max-size); without it a
// draft request is a tus 1.0 one, refused by tusd for its missing
// Tus-Resumable.
func TestServeExperimentalProtocol(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-enable-experimental-protocol", "-max-size", "1000")
	out := s.stdout.String()
	home, guest := homeLink.FindStringSubmatch(out), guestLink.FindStringSubmatch(out)
	if home == nil || guest == nil {
		t.Fatalf("no startup links in:\n%s", out)
	}
	h := tokenHeader(guest[2])
	h.Set("Upload-Complete", "?1")
	resp, early := draftDo(t, http.MethodPost, s.url, h, []byte("0123456789"))
	u := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(u, s.url+"guest/dev/demo/") || len(early) != 1 || early[0] != 104 {
		t.Fatalf("draft creation: %s, Location %q, informational %v", resp.Status, u, early)
	}
	for who, tok := range map[string]string{"the guest (tusd)": guest[2], "the share owner (the policy)": home[2]} {
		resp, _ := draftDo(t, http.MethodHead, u, tokenHeader(tok), nil)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Upload-Complete") != "?1" ||
			resp.Header.Get("Upload-Limit") != "min-size=0,max-size=1000" || resp.Header.Get("Tus-Resumable") != "" {
			t.Errorf("draft HEAD by %s: %s, headers %v", who, resp.Status, resp.Header)
		}
	}

	off := startServer(t)
	home = homeLink.FindStringSubmatch(off.stdout.String())
	if home == nil {
		t.Fatal("no home link")
	}
	h = tokenHeader(home[2])
	h.Set("Upload-Complete", "?1")
	if resp, early := draftDo(t, http.MethodPost, off.url, h, []byte("0123456789")); resp.StatusCode != http.StatusPreconditionFailed || len(early) != 0 {
		t.Errorf("draft creation without the flag: %s, informational %v; want 412 (tus 1.0 without Tus-Resumable)", resp.Status, early)
	}
}
