// Package promtest checks tusvault's Grafana dashboard
// (deploy/grafana/tusvault.json) against a real Prometheus scraping a
// real tusvault; it holds only tests.
//
// TestMain builds the tusvault binary. The tests start Debian's
// Prometheus (/usr/bin/prometheus, `apt-get install -y prometheus`; `make
// test` installs it) on a loopback port with a temporary config and TSDB,
// scraping every second, and tusvault on its embedded default (local
// disk, dev token secret) on another. While Prometheus scrapes, they run
// paced uploads on the home and the guest route, then take every PromQL
// expression from the dashboard's panels and template variables, fill in
// the variables as Grafana would ($job and $instance from the variables'
// own label_values queries, $__rate_interval, $__range) and evaluate them
// through Prometheus's HTTP API: each must be accepted, and the
// throughput, active uploads, RAM, limiter and part latency panels must
// show data. The shipped deploy/prometheus.yml is checked with promtool,
// with its commented bearer-token block enabled too.
//
// Without Prometheus the tests skip with the install instruction, or
// fail when the CI environment variable is set.
package promtest
