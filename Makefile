# The two commands of the README: `make run` serves on the embedded default
# (local disk under ./data, auto-generated dev keyring); `make test` runs
# every test, installing nothing but Go modules for now.
GO ?= go

.PHONY: run build test vet bench fuzz rss

run:
	$(GO) run ./cmd/tusvault

build:
	$(GO) build -o bin/tusvault ./cmd/tusvault

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

test: vet
	$(GO) test -count=1 -race ./store/... ./cmd/...
	$(GO) test -count=1 ./internal/...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./store/...

# A short run of every fuzz target (the seed corpora already run in `make test`).
fuzz:
	@for pkg in ./store/crypt; do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

# Idle and peak RSS of the server while 4 uploads of 1 GiB run at once.
rss: build
	$(GO) run ./internal/rssbench -bin bin/tusvault -uploads 4 -size 1GiB
