# The two commands of the README: `make run` serves on the embedded default
# (local disk under ./data, auto-generated dev keyring and token secret,
# startup links with dev tokens); `make test` runs
# every test, first installing what the tests need: into ./bin versitygw,
# the real S3 server the S3 tests start on a loopback port, and tusd, the
# reference of the reduced benchmark run in internal/bench; Debian's
# prometheus, which internal/promtest starts on a loopback port to check
# the Grafana dashboard against; the npm packages of internal/jsclient
# (tus-js-client, run in Node against the binary) and of web/ (the upload
# page's build, playwright-core and axe for its browser tests), with
# Debian's nodejs and npm when node is missing; Debian's Chromium, which
# internal/browser drives against the binary; and Debian's redis-server,
# which the locker tests (store/lock) and the multi-instance tests
# (internal/e2e) start on loopback ports of their own.
GO ?= go
BIN := $(CURDIR)/bin
VERSITYGW_VERSION := v1.8.0
TUSD_VERSION := v2.9.1
PROMETHEUS := /usr/bin/prometheus
REDIS_SERVER := /usr/bin/redis-server
JSCLIENT := internal/jsclient
WEB := web
CHROMIUM := /usr/bin/chromium

.PHONY: python-cryptography run build test vet bench fuzz rss tools bench-tools bench-s3 bench-traffic dashboard web screenshots chaos soak

run:
	$(GO) run ./cmd/tusvault

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/tusvault ./cmd/tusvault

vet:
	$(GO) vet ./...
	$(GO) vet -tags failpoint ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

# Test tools, installed into ./bin when missing (Go module proxy only).
tools: $(BIN)/versitygw $(BIN)/tusd

$(BIN)/versitygw:
	GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

# Debian's Prometheus (2.42 on bookworm), for internal/promtest: only the
# binary is used, the tests start it themselves on a loopback port.
# Without recommends (no node exporter). The package's service is not
# needed: where no init system runs, or policy-rc.d forbids it (containers
# such as CI's), it does not start; under systemd it would (stop it with
# systemctl disable --now prometheus).
$(PROMETHEUS):
	@if [ "$$(id -u)" != 0 ]; then echo "prometheus is missing: install it with 'sudo apt-get install -y prometheus', then run make test again"; exit 1; fi
	@ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }

# Debian's redis-server (7.0 on bookworm), for the Redis locker's tests:
# only the binary is used, the tests start it on a free loopback port with
# a temporary directory and no persistence. The package's service is not
# started: a policy-rc.d that forbids it is in place during the install
# (unless one exists already), and under a running systemd the unit is
# disabled afterwards.
$(REDIS_SERVER):
	@if [ "$$(id -u)" != 0 ]; then echo "redis-server is missing: install it with 'sudo apt-get install -y redis-server' (the tests start their own; the service is not needed), then run make test again"; exit 1; fi
	@ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update
	@rc=/usr/sbin/policy-rc.d; own=; \
	  if [ ! -e $$rc ]; then printf '#!/bin/sh\nexit 101\n' > $$rc && chmod 755 $$rc && own=1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server || \
	    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server; }; st=$$?; \
	  if [ -n "$$own" ]; then rm -f $$rc; fi; \
	  if [ -d /run/systemd/system ]; then systemctl disable --now redis-server >/dev/null 2>&1 || true; fi; \
	  exit $$st

$(BIN)/tusd:
	GOBIN=$(BIN) $(GO) install github.com/tus/tusd/v2/cmd/tusd@$(TUSD_VERSION)

# ./internal/... includes the reduced run of bench-s3 (internal/bench
# TestSmallRun, well under a minute), the run of bench-traffic
# (internal/costbench, about 20 s) and the soak's (internal/soak
# TestSoak, 60 files, about 10 s): all three build tusvault from the tree; and
# the chaos tests of internal/e2e in their CI size (about two minutes; see
# make chaos), which build it with -tags failpoint too.
# internal/jsclient's packages (package-lock.json): npm ci when
# node_modules is missing or older than the lock file. Node and npm are
# Debian's when missing (nodejs 18 on bookworm; tus-js-client needs 18 or
# later), as root; otherwise it says so and stops.
NEED_NODE = if ! command -v node >/dev/null || ! command -v npm >/dev/null; then $(call APT_INSTALL,node/npm,nodejs npm); fi

# $(call APT_INSTALL,WHAT,PACKAGES) installs Debian's PACKAGES as root
# (apt-get update first when the package lists are missing, and once
# more if the install fails); otherwise it says how and stops.
APT_INSTALL = if [ "$$(id -u)" != 0 ]; then echo "$(1) missing: install it with 'sudo apt-get install -y $(2)', then run make test again"; exit 1; fi; \
	  ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(2) || \
	    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(2); }

$(JSCLIENT)/node_modules/.package-lock.json: $(JSCLIENT)/package-lock.json
	@$(NEED_NODE)
	npm ci --prefix $(JSCLIENT)
	@touch $@

# web/'s packages (package-lock.json): Uppy, esbuild, playwright-core and
# @axe-core/playwright; npm ci when node_modules is missing or older than
# the lock file. Uppy 6 declares Node 22 or later; on Node 20 npm warns,
# and the build and tests work.
$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	@$(NEED_NODE)
	npm ci --prefix $(WEB)
	@touch $@

# Python 3 with the cryptography package, for the reference decryptor of
# docs/FORMAT.md, which store/crypt's doc tests run on the known-answer
# vectors (make test requires it: TUSVAULT_PYTHON_REQUIRED).
python-cryptography:
	@python3 -c 'import cryptography' 2>/dev/null || { $(call APT_INSTALL,python3-cryptography,python3 python3-cryptography); }

# Debian's Chromium, for internal/browser (playwright-core starts it; no
# browser download, which the closed network would refuse).
$(CHROMIUM):
	@$(call APT_INSTALL,chromium,chromium)

# ./web/... rebuilds the page from web/ into a temp dir and compares it
# with the committed web/dist; ./internal/... includes internal/browser
# (about two minutes: Chromium against the binary on disk and on S3).
test: vet tools $(PROMETHEUS) $(REDIS_SERVER) $(JSCLIENT)/node_modules/.package-lock.json $(WEB)/node_modules/.package-lock.json $(CHROMIUM) python-cryptography
	TUSVAULT_PYTHON_REQUIRED=1 $(GO) test -count=1 -race ./store/... ./hooks/... ./web/... ./cmd/... ./deploy/...
	$(GO) test -count=1 ./internal/...
	$(GO) test -count=1 -tags failpoint ./internal/failpoint

# The chaos tests of internal/e2e with their long loops (TUSVAULT_CHAOS=long):
# 50 trials of SIGKILLs at random moments instead of 10, a 30 s outage of
# the object store instead of 8 s, and the rest of the chaos suite as in
# make test, with the Redis faults of two instances (the lock holder
# SIGKILLed, Redis restarted mid-upload); about six minutes. A failing random trial prints its seed:
# TUSVAULT_CHAOS_SEED=<seed> make chaos replays it.
chaos: tools $(REDIS_SERVER)
	$(GO) test -count=1 -tags failpoint ./internal/failpoint
	TUSVAULT_CHAOS=long TUSVAULT_CHAOS_SEED=$(TUSVAULT_CHAOS_SEED) $(GO) test -count=1 -timeout 30m -run 'Chaos|SlowProxy|ReleaseBinary|Spool|MultiInstance' ./internal/e2e/

# Rebuild the upload page (web/src, bundled by esbuild) into web/dist,
# which the binary embeds: commit web/dist with its sources.
web: $(WEB)/node_modules/.package-lock.json
	npm run build --prefix $(WEB)

# Regenerate the README's screenshots (docs/screenshots/*.png) from the
# browser tests on the embedded default; every run also leaves all its
# screenshots in web/test/artifacts/.
screenshots: $(WEB)/node_modules/.package-lock.json $(CHROMIUM)
	TUSVAULT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'TestPage/disk' ./internal/browser/

# Regenerate deploy/grafana/tusvault.json from its Go code.
dashboard:
	$(GO) generate ./deploy/grafana

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./store/...

# A short run of every fuzz target (the seed corpora already run in `make test`).
fuzz:
	@for pkg in ./store/crypt ./hooks ./internal/hostile; do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

# Idle and peak RSS of the server while 4 uploads of 1 GiB run at once
# (open uploads: the load generator sends no tokens).
rss: build
	$(GO) run ./internal/rssbench -bin bin/tusvault -uploads 4 -size 1GiB -server-flags=-auth=none

# The comparison's tools in ./bin: tusd (the reference) and versitygw
# (the same as the test tools).
bench-tools: tools

# tusvault next to tusd on versitygw, in one run (see docs/BENCHMARKS.md;
# several minutes): 1 and 4 uploads of 512 MiB each and the same bytes
# straight to versitygw (the direct ceiling), over plain HTTP and over HTTPS
# (a test certificate made at run time), and 64 slow clients with 4 fast
# uploads. CPU profiles of both servers by category:
# make bench-s3 BENCH_S3='BenchmarkVersusTusd/.*/uploads' TUSVAULT_BENCH_PROFILE=tmp/profiles
# For a quicker run of the first two: make bench-s3 TUSVAULT_BENCH_SIZE=64MiB
# BENCH_S3='BenchmarkVersusTusd/.*/uploads'. The RSS chart of the slow
# clients: make bench-s3 TUSVAULT_BENCH_CHART=docs/bench-slow-clients-rss.svg
BENCH_S3 ?= BenchmarkVersusTusd
bench-s3: build tools
	TUSVAULT_BENCH_SIZE=$(TUSVAULT_BENCH_SIZE) TUSVAULT_BENCH_CHART=$(TUSVAULT_BENCH_CHART) TUSVAULT_BENCH_PROFILE=$(TUSVAULT_BENCH_PROFILE) \
	  $(GO) test -run '^$$' -bench '$(BENCH_S3)' -benchtime=1x -timeout 60m ./internal/bench/

# Object-store traffic per uploaded byte (issue 12; internal/costbench,
# docs/BENCHMARKS.md): tusd, then tusvault, behind a counting proxy to one
# versitygw, a 24 MiB upload in PATCHes of 5 MiB, 1 MiB and 256 KiB and
# one verifying GET each; under a minute. Prints the tables and writes
# them to tmp/costbench/traffic.md. make test runs the same sizes
# (TestReducedRun, TestTrafficTargets) with tusvault built from the tree.
bench-traffic: build tools
	TUSVAULT_COSTBENCH_REPORT=tmp/costbench/traffic.md \
	  $(GO) test -count=1 -run '^$$' -bench BenchmarkTraffic -benchtime=1x -timeout 20m ./internal/costbench/

# The soak of issue 11 (internal/soak, docs/BENCHMARKS.md): 2,630 files,
# about 70 GB, from 8 clients to bin/tusvault on versitygw, with cuts and
# resumes, terminations, home and guest routes, every file checked by a
# decrypted GET, the RAM status read every second; under an hour here.
# SOAK_SEED=N repeats a run (by default a seed from the clock, printed).
# The RSS chart goes to docs/soak-rss.svg, the tables to tmp/soak/soak.md,
# the server's whole log under tmp/soak/_artifacts/.
SOAK_SEED ?=
soak: build tools
	@mkdir -p tmp/soak
	TUSVAULT_SOAK=full TUSVAULT_SOAK_SEED=$(SOAK_SEED) TUSVAULT_SOAK_TUSVAULT=$(BIN)/tusvault \
	  TUSVAULT_SOAK_CHART=docs/soak-rss.svg TUSVAULT_SOAK_REPORT=tmp/soak/soak.md TUSVAULT_SOAK_COMMAND='make soak' \
	  $(GO) test -count=1 -v -run '^TestSoak$$' -timeout 100m -artifacts -outputdir $(CURDIR)/tmp/soak ./internal/soak/
