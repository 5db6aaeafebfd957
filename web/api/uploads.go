package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/store"
)

// Listing bounds.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
)

// uploadList is the answer of GET /api/uploads.
type uploadList struct {
	Uploads []upload `json:"uploads"`
	// NextCursor fetches the following page (null after the last).
	NextCursor *string `json:"next_cursor"`
}

// upload is one listed upload.
type upload struct {
	ID string `json:"id"`
	// Name and Type are the client's filename and filetype metadata
	// ("" when absent): untrusted text.
	Name string `json:"name"`
	Type string `json:"type"`
	// Size is null while the length is deferred.
	Size   *int64 `json:"size"`
	Offset int64  `json:"offset"`
	// Route is "home" or "guest" (read from the id); Share names a guest
	// upload's share.
	Route string `json:"route"`
	Share string `json:"share,omitempty"`
	// Created and Updated (the last write) are RFC 3339.
	Created *string `json:"created"`
	Updated *string `json:"updated"`
	// Finished is true once the upload is complete (its tag is stored).
	Finished bool `json:"finished"`
	// Download is a signed link (a path, no token needed) to a finished
	// upload, valid until DownloadExpires; null otherwise.
	Download        *string `json:"download"`
	DownloadExpires *string `json:"download_expires"`
}

// parseLimit reads the limit parameter: a whole number from 1 in ASCII
// digits, more than MaxListLimit (however many digits) taken as it.
func parseLimit(v string) (int, error) {
	if v == "" || strings.Trim(v, "0123456789") != "" || strings.Trim(v, "0") == "" {
		return 0, errLimit
	}
	if n, ok := hooks.ParseDigits(v); ok && n < MaxListLimit {
		return int(n), nil
	}
	return MaxListLimit, nil
}

// serveUploads answers GET /api/uploads.
func (a *API) serveUploads(w http.ResponseWriter, r *http.Request) error {
	p := a.cfg.Policy
	ctx := r.Context()
	c, err := p.Authenticate(ctx, r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	prefixes, err := p.ListPrefixes(ctx, c)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := DefaultListLimit
	if v := q.Get("limit"); v != "" {
		n, err := parseLimit(v)
		if err != nil {
			return err
		}
		limit = n
	}
	page, next, err := a.cfg.Uploads.ListUploads(ctx, prefixes, limit, q.Get("cursor"))
	if errors.Is(err, store.ErrBadCursor) {
		return errCursor
	}
	if err != nil {
		return err
	}
	out := uploadList{Uploads: make([]upload, 0, len(page))}
	if next != "" {
		out.NextCursor = &next
	}
	for _, l := range page {
		fi := l.Info
		rt, ok := p.ParseID(fi.ID)
		if !ok {
			continue // under the prefixes, yet not an id the policy hands out
		}
		u := upload{
			ID: fi.ID, Name: fi.MetaData["filename"], Type: fi.MetaData["filetype"],
			Offset: fi.Offset, Route: rt.Kind,
			Created: timeText(l.Created), Updated: timeText(l.Written),
			Finished: fi.Storage["Tag"] != "",
		}
		if !fi.SizeIsDeferred {
			u.Size = &fi.Size
		}
		if rt.Kind == hooks.RouteGuest {
			u.Share = fi.Storage["Share"]
		}
		if u.Finished && !a.cfg.DisableDownload {
			v, exp, err := p.DownloadLink(c, fi.ID)
			if err != nil {
				a.log.WarnContext(ctx, "no download link", "id", fi.ID, "error", err)
			} else {
				link := a.cfg.BasePath + fi.ID + "?" + hooks.LinkParam + "=" + url.QueryEscape(v)
				u.Download, u.DownloadExpires = &link, timeText(exp)
			}
		}
		out.Uploads = append(out.Uploads, u)
	}
	return writeJSON(w, r, out)
}
