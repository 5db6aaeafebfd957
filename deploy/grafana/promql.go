package grafana

import (
	"fmt"
	"strconv"
	"strings"
)

// scope is the label matchers every query of the dashboard carries: the
// job and instance variables, multi-valued (Grafana writes a selection as
// a regular expression, All as allValue).
const scope = `job=~"$job",instance=~"$instance"`

// rateInterval is the range of every rate: Grafana's $__rate_interval is at
// least four scrape intervals (the data source's timeInterval), so a rate
// always spans enough samples.
const rateInterval = "$__rate_interval"

// sel returns metric{job=~"$job",instance=~"$instance"} with the extra
// matchers (such as `outcome!="ok"`) appended.
func sel(metric string, extra ...string) string {
	return metric + "{" + strings.Join(append([]string{scope}, extra...), ",") + "}"
}

// rate returns rate(sel(metric, extra...)[$__rate_interval]).
func rate(metric string, extra ...string) string {
	return "rate(" + sel(metric, extra...) + "[" + rateInterval + "])"
}

// sumBy returns sum by (labels) (expr), or sum(expr) without labels.
func sumBy(expr string, labels ...string) string {
	if len(labels) == 0 {
		return "sum(" + expr + ")"
	}
	return "sum by (" + strings.Join(labels, ", ") + ") (" + expr + ")"
}

// quantile returns the q-quantile of the histogram hist (its name without
// _bucket) over $__rate_interval, per the labels in by.
func quantile(q float64, hist string, by ...string) string {
	buckets := sumBy(rate(hist+"_bucket"), append(by, "le")...)
	return fmt.Sprintf("histogram_quantile(%s, %s)", strconv.FormatFloat(q, 'f', -1, 64), buckets)
}

// labelValues returns the Grafana variable query listing label's values on
// the series of selector.
func labelValues(selector, label string) string {
	return "label_values(" + selector + ", " + label + ")"
}
