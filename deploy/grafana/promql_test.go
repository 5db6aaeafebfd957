package grafana

import "testing"

func TestQueryHelpers(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{sel("up"), `up{job=~"$job",instance=~"$instance"}`},
		{sel("x_total", `outcome!="ok"`), `x_total{job=~"$job",instance=~"$instance",outcome!="ok"}`},
		{rate("x_total"), `rate(x_total{job=~"$job",instance=~"$instance"}[$__rate_interval])`},
		{sumBy("x"), `sum(x)`},
		{sumBy("x", "op", "outcome"), `sum by (op, outcome) (x)`},
		{quantile(0.5, "h_seconds"), `histogram_quantile(0.5, sum by (le) (rate(h_seconds_bucket{job=~"$job",instance=~"$instance"}[$__rate_interval])))`},
		{quantile(0.95, "h_seconds", "op"), `histogram_quantile(0.95, sum by (op, le) (rate(h_seconds_bucket{job=~"$job",instance=~"$instance"}[$__rate_interval])))`},
		{labelValues(`m{job=~"$job"}`, "instance"), `label_values(m{job=~"$job"}, instance)`},
	} {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
}
