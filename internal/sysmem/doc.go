// Package sysmem reads how much memory the process uses and the limit it
// runs under, from Linux's /proc and cgroup files: the readings behind
// GET /upload/ram-status, the tusvault_ram_* metrics and the GOMEMLIMIT
// tusvault sets at startup.
//
// The limit is the first that applies of: a configured one (-ram-limit-mb),
// the cgroup v2 memory.max of the process's cgroup and its ancestors (the
// smallest), the cgroup v1 memory.limit_in_bytes likewise, and the
// physical memory (MemTotal). Values that mean "no limit" (v2 "max", v1's
// page-rounded 2^63-1) fall through to the next source. Every path is read
// below System.Root, so tests run it over fake trees.
//
// ReleaseStartupPages gives back the pages of the executable that only the
// package initializers touched (see its documentation): most of an idle
// Go server's resident memory is such clean file pages of its own binary.
package sysmem
