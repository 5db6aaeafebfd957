// Package hooks holds what tusvault checks and decides about a request
// before tusd's handler stores a byte: today, the strict parsing of the
// client's Upload-Metadata header; routing, authorization and tusd-style
// external hooks come next.
package hooks
