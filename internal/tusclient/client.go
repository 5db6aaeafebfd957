package tusclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Version is the tus protocol version sent in every request.
const Version = "1.0.0"

// ContentTypeOffset is the Content-Type every PATCH request carries.
const ContentTypeOffset = "application/offset+octet-stream"

// maxErrorBody bounds how much of an error response body is kept.
const maxErrorBody = 64 << 10

// Client is a tus 1.0 client. The zero value uses http.DefaultClient.
type Client struct {
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Header holds extra headers added to every request (for example
	// Authorization). Tus-Resumable is always set by the client.
	Header http.Header
}

// StatusError is returned (wrapped) when the server answers with an
// unexpected HTTP status.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	body := strings.TrimSpace(e.Body)
	if len(body) > 512 {
		body = body[:512] + "…"
	}
	return fmt.Sprintf("unexpected HTTP status %d %s: %q", e.Status, http.StatusText(e.Status), body)
}

// Status returns the HTTP status carried by err (a *StatusError somewhere in
// its chain), or 0 when there is none.
func Status(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// NewRequest returns a request with the client's headers and Tus-Resumable
// set. body may be nil.
func (c *Client) NewRequest(ctx context.Context, method, target string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Tus-Resumable", Version)
	return req, nil
}

// Do sends req with the client's HTTP client. It adds Tus-Resumable and the
// client's headers when req lacks them, so requests built elsewhere (for
// example with deliberately malformed headers) can go through it too.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	for k, vs := range c.Header {
		if _, ok := req.Header[http.CanonicalHeaderKey(k)]; ok {
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("Tus-Resumable") == "" {
		req.Header.Set("Tus-Resumable", Version)
	}
	return c.httpClient().Do(req)
}

// statusError reads (a bounded part of) the body of resp into a StatusError
// and closes the body.
func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	return &StatusError{Status: resp.StatusCode, Body: string(b)}
}

// drain discards what is left of a body (bounded) and closes it so that the
// connection can be reused.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// EncodeMetadata encodes meta as a tus Upload-Metadata value: key, space,
// standard base64 of the value, pairs separated by commas, in key order. An
// empty value is encoded as the key alone, as the protocol allows.
func EncodeMetadata(meta map[string]string) string {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		if v := meta[k]; v != "" {
			b.WriteByte(' ')
			b.WriteString(base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
	return b.String()
}

// DecodeMetadata parses an Upload-Metadata value. Unlike lenient servers it
// reports malformed pairs as errors.
func DecodeMetadata(header string) (map[string]string, error) {
	meta := map[string]string{}
	if strings.TrimSpace(header) == "" {
		return meta, nil
	}
	for _, pair := range strings.Split(header, ",") {
		parts := strings.Split(strings.TrimSpace(pair), " ")
		if len(parts) > 2 || parts[0] == "" {
			return nil, fmt.Errorf("tus: malformed metadata pair %q", pair)
		}
		v := ""
		if len(parts) == 2 {
			d, err := base64.StdEncoding.DecodeString(parts[1])
			if err != nil {
				return nil, fmt.Errorf("tus: metadata %q: %w", parts[0], err)
			}
			v = string(d)
		}
		meta[parts[0]] = v
	}
	return meta, nil
}

// Create creates an upload of length bytes at endpoint (POST) and returns
// its absolute URL. length < 0 defers the length (Upload-Defer-Length: 1).
func (c *Client) Create(ctx context.Context, endpoint string, length int64, meta map[string]string) (string, error) {
	req, err := c.NewRequest(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return "", err
	}
	if length < 0 {
		req.Header.Set("Upload-Defer-Length", "1")
	} else {
		req.Header.Set("Upload-Length", strconv.FormatInt(length, 10))
	}
	if len(meta) > 0 {
		req.Header.Set("Upload-Metadata", EncodeMetadata(meta))
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("tus POST %s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("tus POST %s: %w", endpoint, statusError(resp))
	}
	drain(resp)
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("tus POST %s: 201 without a Location header", endpoint)
	}
	base, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("tus POST %s: bad Location %q: %w", endpoint, loc, err)
	}
	return base.ResolveReference(ref).String(), nil
}

// Head returns the upload's offset and length (-1 when the length is
// deferred).
func (c *Client) Head(ctx context.Context, uploadURL string) (offset, length int64, err error) {
	req, err := c.NewRequest(ctx, http.MethodHead, uploadURL, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("tus HEAD %s: %w", uploadURL, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return 0, 0, fmt.Errorf("tus HEAD %s: %w", uploadURL, statusError(resp))
	}
	drain(resp)
	offset, err = strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || offset < 0 {
		return 0, 0, fmt.Errorf("tus HEAD %s: bad Upload-Offset %q", uploadURL, resp.Header.Get("Upload-Offset"))
	}
	length = -1
	if l := resp.Header.Get("Upload-Length"); l != "" {
		length, err = strconv.ParseInt(l, 10, 64)
		if err != nil || length < 0 {
			return 0, 0, fmt.Errorf("tus HEAD %s: bad Upload-Length %q", uploadURL, l)
		}
	}
	return offset, length, nil
}

// Patch sends size bytes of body at offset and returns the new offset the
// server reports. size < 0 sends the body with chunked transfer encoding
// (no Content-Length). A body shorter than a given size makes the request
// fail on the client side.
func (c *Client) Patch(ctx context.Context, uploadURL string, offset int64, body io.Reader, size int64) (int64, error) {
	if body == nil || size == 0 {
		body = http.NoBody
	}
	req, err := c.NewRequest(ctx, http.MethodPatch, uploadURL, body)
	if err != nil {
		return 0, err
	}
	switch {
	case size < 0:
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
	case size == 0:
		req.ContentLength = 0
	default:
		req.ContentLength = size
	}
	req.Header.Set("Content-Type", ContentTypeOffset)
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("tus PATCH %s at %d: %w", uploadURL, offset, err)
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("tus PATCH %s at %d: %w", uploadURL, offset, statusError(resp))
	}
	drain(resp)
	newOffset, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || newOffset < offset {
		return 0, fmt.Errorf("tus PATCH %s at %d: bad Upload-Offset %q in the response", uploadURL, offset, resp.Header.Get("Upload-Offset"))
	}
	return newOffset, nil
}

// Upload sends data from offset 0 in PATCH requests of the given piece
// sizes, repeating the last size until data is sent (no pieces: one PATCH).
// It checks the offset every response reports.
func (c *Client) Upload(ctx context.Context, uploadURL string, data []byte, pieces []int) error {
	return c.UploadFrom(ctx, uploadURL, data, 0, pieces)
}

// Resume asks the server for the upload's offset (HEAD) and sends the rest
// of data from there like Upload.
func (c *Client) Resume(ctx context.Context, uploadURL string, data []byte, pieces []int) error {
	off, _, err := c.Head(ctx, uploadURL)
	if err != nil {
		return err
	}
	if off > int64(len(data)) {
		return fmt.Errorf("tus: server offset %d is past the data's %d bytes", off, len(data))
	}
	return c.UploadFrom(ctx, uploadURL, data, off, pieces)
}

// UploadFrom is Upload starting at offset (data holds the whole upload).
func (c *Client) UploadFrom(ctx context.Context, uploadURL string, data []byte, offset int64, pieces []int) error {
	for _, p := range pieces {
		if p <= 0 {
			return fmt.Errorf("tus: piece size %d is not positive", p)
		}
	}
	total := int64(len(data))
	for i := 0; offset < total; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := total - offset
		if len(pieces) > 0 {
			n = min(n, int64(pieces[min(i, len(pieces)-1)]))
		}
		got, err := c.Patch(ctx, uploadURL, offset, bytes.NewReader(data[offset:offset+n]), n)
		if err != nil {
			return err
		}
		if got != offset+n {
			return fmt.Errorf("tus PATCH %s at %d with %d bytes: server reports offset %d, want %d", uploadURL, offset, n, got, offset+n)
		}
		offset = got
	}
	return nil
}

// Get downloads the upload (GET). rangeHeader, when not empty, is sent as
// the Range header. Any status is returned without error; err reports a
// transport failure or a body that did not end cleanly (body then holds what
// arrived).
func (c *Client) Get(ctx context.Context, uploadURL, rangeHeader string) (status int, body []byte, header http.Header, err error) {
	req, err := c.NewRequest(ctx, http.MethodGet, uploadURL, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if rangeHeader != "" {
		req.Header.Set("Range", rangeHeader)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("tus GET %s: %w", uploadURL, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		err = fmt.Errorf("tus GET %s: reading the body: %w", uploadURL, err)
	}
	return resp.StatusCode, body, resp.Header, err
}

// Delete terminates the upload (DELETE, termination extension).
func (c *Client) Delete(ctx context.Context, uploadURL string) error {
	req, err := c.NewRequest(ctx, http.MethodDelete, uploadURL, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("tus DELETE %s: %w", uploadURL, err)
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("tus DELETE %s: %w", uploadURL, statusError(resp))
	}
	drain(resp)
	return nil
}

// UploadID returns the last path segment of an upload URL.
func UploadID(uploadURL string) string {
	u, err := url.Parse(uploadURL)
	p := uploadURL
	if err == nil {
		p = u.Path
	}
	p = strings.TrimRight(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}
