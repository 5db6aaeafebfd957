package promtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tusvault/tusvault/internal/testenv"
)

// dashboardFile is the dashboard under test, relative to the repository
// root.
const dashboardFile = "deploy/grafana/tusvault.json"

// panelQuery is one query of a dashboard panel.
type panelQuery struct {
	Panel   string // the panel's title
	RefID   string
	Expr    string
	Instant bool // an instant query (one value at the end of the range)
}

func (q panelQuery) String() string { return fmt.Sprintf("%q %s", q.Panel, q.RefID) }

// variable is one of the dashboard's template variables.
type variable struct {
	Name  string
	Type  string // query, datasource, custom, ...
	Query string // a query variable's query
}

// dashboard is what the tests read of a Grafana dashboard JSON.
type dashboard struct {
	Queries   []panelQuery
	Variables []variable
}

// parseDashboard takes every panel query (rows' nested panels included)
// and every template variable from a Grafana dashboard JSON.
func parseDashboard(b []byte) (*dashboard, error) {
	type jsonPanel struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID   string `json:"refId"`
			Expr    string `json:"expr"`
			Instant bool   `json:"instant"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var m struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	d := &dashboard{}
	var walk func(raw []json.RawMessage, depth int) error
	walk = func(raw []json.RawMessage, depth int) error {
		if depth > 2 && len(raw) > 0 { // panels in rows, rows at the top: no deeper
			return errors.New("panels nested deeper than rows")
		}
		for _, r := range raw {
			var p jsonPanel
			if err := json.Unmarshal(r, &p); err != nil {
				return err
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					return fmt.Errorf("panel %q query %s has no expr", p.Title, tg.RefID)
				}
				d.Queries = append(d.Queries, panelQuery{Panel: p.Title, RefID: tg.RefID, Expr: tg.Expr, Instant: tg.Instant})
			}
			if err := walk(p.Panels, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(m.Panels, 1); err != nil {
		return nil, err
	}
	for _, v := range m.Templating.List {
		vv := variable{Name: v.Name, Type: v.Type}
		if v.Type == "query" {
			// A string, or (newer Grafana) an object with the query in
			// "query".
			var s string
			if err := json.Unmarshal(v.Query, &s); err != nil {
				var o struct {
					Query string `json:"query"`
				}
				if err := json.Unmarshal(v.Query, &o); err != nil {
					return nil, fmt.Errorf("variable %s: query %s", v.Name, v.Query)
				}
				s = o.Query
			}
			vv.Query = s
		}
		d.Variables = append(d.Variables, vv)
	}
	return d, nil
}

// loadDashboard reads and parses the repository's dashboard.
func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, dashboardFile))
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDashboard(b)
	if err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if len(d.Queries) == 0 {
		t.Fatalf("%s has no queries", dashboardFile)
	}
	return d
}

// titled returns the queries of the panel titled title.
func (d *dashboard) titled(title string) []panelQuery {
	var out []panelQuery
	for _, q := range d.Queries {
		if q.Panel == title {
			out = append(out, q)
		}
	}
	return out
}

// variableRef is a Grafana variable reference: ${name}, ${name:format},
// [[name]] or $name.
var variableRef = regexp.MustCompile(`\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)`)

// interpolate replaces the variable references in s by their values in
// vars, as Grafana does before it sends a query; a reference to a
// variable not in vars is an error.
func interpolate(s string, vars map[string]string) (string, error) {
	var missing []string
	out := variableRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2] + m[3]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		return v
	})
	if missing != nil {
		return "", fmt.Errorf("unknown variables %s in %s", strings.Join(missing, ", "), s)
	}
	return out, nil
}

// regexValue is value as Grafana's Prometheus data source puts one
// selected value of a multi-value variable into a =~ matcher: a regular
// expression matching exactly value, escaped for a PromQL double-quoted
// string.
func regexValue(value string) string {
	return promString(regexp.QuoteMeta(value))
}

// promString escapes s for a PromQL double-quoted string.
func promString(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

var labelValuesRe = regexp.MustCompile(`^\s*label_values\(\s*(?:(.*\S)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// parseLabelValues splits a Grafana label_values([selector, ]label)
// variable query; selector is "" in the one-argument form.
func parseLabelValues(q string) (selector, label string, err error) {
	m := labelValuesRe.FindStringSubmatch(q)
	if m == nil {
		return "", "", fmt.Errorf("variable query %q is not label_values([selector, ]label)", q)
	}
	return m[1], m[2], nil
}

func TestParseDashboard(t *testing.T) {
	d, err := parseDashboard([]byte(`{
	  "panels": [
	    {"type": "row", "title": "open", "panels": []},
	    {"type": "timeseries", "title": "a", "targets": [{"refId": "A", "expr": "up"}, {"refId": "B", "expr": "x", "instant": true}]},
	    {"type": "row", "title": "collapsed", "collapsed": true, "panels": [
	      {"type": "stat", "title": "b", "targets": [{"refId": "A", "expr": "y"}]}
	    ]}
	  ],
	  "templating": {"list": [
	    {"type": "datasource", "name": "datasource", "query": "prometheus"},
	    {"type": "query", "name": "job", "query": "label_values(up, job)"},
	    {"type": "query", "name": "instance", "query": {"query": "label_values(up{job=~\"$job\"}, instance)", "refId": "X"}}
	  ]}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []panelQuery{{"a", "A", "up", false}, {"a", "B", "x", true}, {"b", "A", "y", false}}
	if fmt.Sprint(d.Queries) != fmt.Sprint(want) {
		t.Errorf("queries %v, want %v", d.Queries, want)
	}
	wantVars := []variable{{"datasource", "datasource", ""}, {"job", "query", "label_values(up, job)"}, {"instance", "query", `label_values(up{job=~"$job"}, instance)`}}
	if fmt.Sprint(d.Variables) != fmt.Sprint(wantVars) {
		t.Errorf("variables %v, want %v", d.Variables, wantVars)
	}
	if _, err := parseDashboard([]byte(`{"panels": [{"title": "p", "targets": [{"refId": "A"}]}]}`)); err == nil {
		t.Error("a query without expr was accepted")
	}
}

func TestInterpolate(t *testing.T) {
	vars := map[string]string{"job": "j", "instance": `127\\.0\\.0\\.1:9`, "__rate_interval": "4s", "__range": "5m"}
	for in, want := range map[string]string{
		`rate(x{job=~"$job",instance=~"$instance"}[$__rate_interval])`: `rate(x{job=~"j",instance=~"127\\.0\\.0\\.1:9"}[4s])`,
		`increase(x{job=~"${job}"}[$__range])`:                         `increase(x{job=~"j"}[5m])`,
		`x{job=~"${job:regex}",instance=~"[[instance]]"}`:              `x{job=~"j",instance=~"127\\.0\\.0\\.1:9"}`,
		`up`: `up`,
	} {
		got, err := interpolate(in, vars)
		if err != nil || got != want {
			t.Errorf("interpolate(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := interpolate(`x[$__interval]`, vars); err == nil || !strings.Contains(err.Error(), "__interval") {
		t.Errorf("unknown variable: %v", err)
	}
	if got := regexValue("127.0.0.1:9"); got != `127\\.0\\.0\\.1:9` {
		t.Errorf("regexValue = %s", got)
	}
}

func TestParseLabelValues(t *testing.T) {
	for in, want := range map[string][2]string{
		`label_values(up, job)`:                                {"up", "job"},
		` label_values( m{job=~"$job",a="b, c"} , instance ) `: {`m{job=~"$job",a="b, c"}`, "instance"},
		`label_values(job)`:                                    {"", "job"},
	} {
		sel, label, err := parseLabelValues(in)
		if err != nil || sel != want[0] || label != want[1] {
			t.Errorf("parseLabelValues(%s) = %q, %q, %v; want %q", in, sel, label, err, want)
		}
	}
	for _, in := range []string{`query_result(up)`, `label_values(up, )`, `metrics(up)`} {
		if _, _, err := parseLabelValues(in); err == nil {
			t.Errorf("parseLabelValues(%s) accepted", in)
		}
	}
}
