package grafana

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

const regenerate = "regenerate it with `go generate ./deploy/grafana` (in the repository root) and commit tusvault.json"

// The committed tusvault.json is exactly what Build returns.
func TestCommittedJSONIsGenerated(t *testing.T) {
	want, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(FileName)
	if err != nil {
		t.Fatalf("%v; %s", err, regenerate)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	i := 0
	for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
		i++
	}
	line := func(ls []string) string {
		if i < len(ls) {
			return strings.TrimSpace(ls[i])
		}
		return "(end of file)"
	}
	t.Errorf("%s differs from Build's output at line %d: file has %q, Build gives %q; %s",
		FileName, i+1, line(gl), line(wl), regenerate)
}

// tusvault.json decodes strictly as a dashboard of the SDK's schema, its
// panels and Prometheus queries included: a hand edit that adds a field
// the schema does not know fails here.
func TestJSONMatchesSchema(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	b, err := os.ReadFile(FileName)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard.Dashboard
	// A strict decode that found nothing wrong returns a nil
	// cog.BuildErrors in a non-nil error.
	if err := d.UnmarshalJSONStrict(b); err != nil {
		if be, ok := err.(cog.BuildErrors); !ok || len(be) > 0 {
			t.Fatalf("%s: %v", FileName, err)
		}
	}
	if len(d.Panels) == 0 {
		t.Fatal("no panels")
	}
}

// model is the part of Grafana's dashboard JSON the checks read.
type model struct {
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Type  string `json:"type"`
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          int      `json:"id"`
	Type        string   `json:"type"`
	Title       string   `json:"title"`
	Datasource  *dsRef   `json:"datasource"`
	Panels      []panel  `json:"panels"` // a collapsed row's
	Targets     []target `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID      string `json:"refId"`
	Expr       string `json:"expr"`
	Instant    bool   `json:"instant"`
	Datasource *dsRef `json:"datasource"`
}

func load(t *testing.T) model {
	t.Helper()
	b, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	var m model
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func flatten(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

var (
	// selectorRe finds the start of every series selector: a metric name
	// and its opening brace.
	selectorRe = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\{`)
	// rangeRe finds every range of a range vector.
	rangeRe = regexp.MustCompile(`\}\[([^\]]*)\]`)
)

// Every panel and query goes through the datasource variable, every
// selector carries the job and instance variables, every range is
// $__rate_interval ($__range in instant totals), and every panel says its
// unit.
func TestPanelsAndQueries(t *testing.T) {
	m := load(t)
	if m.UID != UID {
		t.Errorf("uid %q, want %q", m.UID, UID)
	}
	ids, titles := map[int]bool{}, map[string]bool{}
	queries := 0
	for _, p := range flatten(m.Panels) {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("panel %q: id %d is 0 or not unique", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if titles[p.Title] {
			t.Errorf("two panels titled %q", p.Title)
		}
		titles[p.Title] = true
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want uid ${datasource}", p.Title, p.Datasource)
		}
		if p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("panel %q has no unit", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			what := p.Title + " " + q.RefID
			if q.Datasource == nil || q.Datasource.UID != "${datasource}" {
				t.Errorf("%s: datasource %+v, want uid ${datasource}", what, q.Datasource)
			}
			sels := selectorRe.FindAllStringIndex(q.Expr, -1)
			if len(sels) == 0 {
				t.Errorf("%s: no series selector in %s", what, q.Expr)
			}
			for _, s := range sels {
				if !strings.HasPrefix(q.Expr[s[1]:], scope) {
					t.Errorf("%s: selector at %q lacks %s", what, q.Expr[s[0]:], scope)
				}
			}
			wantRange := "$__rate_interval"
			if q.Instant {
				wantRange = "$__range"
			}
			for _, r := range rangeRe.FindAllStringSubmatch(q.Expr, -1) {
				if r[1] != wantRange {
					t.Errorf("%s: range [%s], want [%s] in %s", what, r[1], wantRange, q.Expr)
				}
			}
		}
	}
	if queries < 30 {
		t.Errorf("only %d queries", queries)
	}

	vars := map[string]string{}
	for _, v := range m.Templating.List {
		q, _ := v.Query.(string)
		vars[v.Name] = v.Type + " " + q
	}
	for name, want := range map[string]string{
		"datasource": "datasource prometheus",
		"job":        "query label_values(tusvault_limiter_slots, job)",
		"instance":   `query label_values(tusvault_limiter_slots{job=~"$job"}, instance)`,
	} {
		if vars[name] != want {
			t.Errorf("variable %s: %q, want %q", name, vars[name], want)
		}
	}
}
