// Package e2e runs the tusvault binary as a subprocess on 127.0.0.1 and
// checks it end to end with internal/tusclient: uneven PATCH pieces, ranged
// GETs, resumption after SIGKILL and SIGTERM, rolled-back offsets, bad input,
// termination, and that nothing is stored in clear.
package e2e
