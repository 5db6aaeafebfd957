# The two commands of the README: `make run` serves on the embedded default
# (local disk under ./data, auto-generated dev keyring and token secret,
# startup links with dev tokens); `make test` runs
# every test, first installing what the tests need into ./bin (versitygw,
# the real S3 server the S3 tests start on a loopback port).
GO ?= go
BIN := $(CURDIR)/bin
VERSITYGW_VERSION := v1.8.0
TUSD_VERSION := v2.9.1

.PHONY: run build test vet bench fuzz rss tools bench-tools bench-s3

run:
	$(GO) run ./cmd/tusvault

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/tusvault ./cmd/tusvault

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

# Test tools, installed into ./bin when missing (Go module proxy only).
tools: $(BIN)/versitygw

$(BIN)/versitygw:
	GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

test: vet tools
	$(GO) test -count=1 -race ./store/... ./hooks/... ./web/... ./cmd/...
	$(GO) test -count=1 ./internal/...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./store/...

# A short run of every fuzz target (the seed corpora already run in `make test`).
fuzz:
	@for pkg in ./store/crypt ./hooks; do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

# Idle and peak RSS of the server while 4 uploads of 1 GiB run at once
# (open uploads: the load generator sends no tokens).
rss: build
	$(GO) run ./internal/rssbench -bin bin/tusvault -uploads 4 -size 1GiB -server-flags=-auth=none

# The comparison's tools in ./bin: tusd (the reference) and versitygw.
bench-tools: tools $(BIN)/tusd

$(BIN)/tusd:
	GOBIN=$(BIN) $(GO) install github.com/tus/tusd/v2/cmd/tusd@$(TUSD_VERSION)

# tusvault next to tusd on one versitygw, 1 and 4 uploads of 512 MiB each,
# in one run (see docs/BENCHMARKS.md; a few minutes). For a quick run:
# make bench-s3 TUSVAULT_BENCH_SIZE=64MiB
bench-s3: build bench-tools tools
	TUSVAULT_BENCH_SIZE=$(TUSVAULT_BENCH_SIZE) $(GO) test -run '^$$' -bench BenchmarkVersusTusd -benchtime=1x -timeout 60m ./internal/bench/
