package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// api is Prometheus's HTTP API (/api/v1).
type api struct {
	base string // http://127.0.0.1:PORT
	http *http.Client
}

// apiError is a request Prometheus refused: errorType bad_data for an
// expression that does not parse, execution for one that fails.
type apiError struct {
	Type, Msg string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Msg }

// series is one series of a query result: its labels and values (one for
// an instant query).
type series struct {
	Metric map[string]string
	Values []float64
}

// hasNumber reports whether any value is a number (not NaN).
func (s series) hasNumber() bool {
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			return true
		}
	}
	return false
}

// max is the largest value that is a number, or NaN.
func (s series) max() float64 {
	m := math.NaN()
	for _, v := range s.Values {
		if !math.IsNaN(v) && (math.IsNaN(m) || v > m) {
			m = v
		}
	}
	return m
}

// get calls path with the form values and decodes data from a successful
// answer; a refusal is an *apiError.
func (a *api) get(ctx context.Context, path string, form url.Values, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return err
	}
	req.URL.RawQuery = form.Encode()
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	var r struct {
		Status    string          `json:"status"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%s: HTTP %d, not an API answer: %.200q", path, resp.StatusCode, body)
	}
	if r.Status != "success" {
		return &apiError{Type: r.ErrorType, Msg: r.Error}
	}
	return json.Unmarshal(r.Data, data)
}

// query evaluates expr at t (/api/v1/query).
func (a *api) query(ctx context.Context, expr string, t time.Time) ([]series, error) {
	return a.result(ctx, "/api/v1/query", url.Values{"query": {expr}, "time": {unix(t)}})
}

// queryRange evaluates expr from start to end every step
// (/api/v1/query_range).
func (a *api) queryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]series, error) {
	return a.result(ctx, "/api/v1/query_range", url.Values{
		"query": {expr}, "start": {unix(start)}, "end": {unix(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	})
}

// labelSets returns the label sets of the series matching selector
// between start and end (/api/v1/series).
func (a *api) labelSets(ctx context.Context, selector string, start, end time.Time) ([]map[string]string, error) {
	var sets []map[string]string
	err := a.get(ctx, "/api/v1/series", url.Values{"match[]": {selector}, "start": {unix(start)}, "end": {unix(end)}}, &sets)
	return sets, err
}

// labelValues returns the values of label on any series between start
// and end (/api/v1/label/NAME/values).
func (a *api) labelValues(ctx context.Context, label string, start, end time.Time) ([]string, error) {
	var vals []string
	err := a.get(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values", url.Values{"start": {unix(start)}, "end": {unix(end)}}, &vals)
	return vals, err
}

func (a *api) result(ctx context.Context, path string, form url.Values) ([]series, error) {
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := a.get(ctx, path, form, &d); err != nil {
		return nil, err
	}
	switch d.ResultType {
	case "vector", "matrix":
		var rs []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		}
		if err := json.Unmarshal(d.Result, &rs); err != nil {
			return nil, err
		}
		out := make([]series, len(rs))
		for i, r := range rs {
			out[i].Metric = r.Metric
			if r.Value != nil {
				r.Values = append(r.Values, r.Value)
			}
			for _, v := range r.Values {
				f, err := sampleValue(v)
				if err != nil {
					return nil, err
				}
				out[i].Values = append(out[i].Values, f)
			}
		}
		return out, nil
	case "scalar":
		var v []any
		if err := json.Unmarshal(d.Result, &v); err != nil {
			return nil, err
		}
		f, err := sampleValue(v)
		if err != nil {
			return nil, err
		}
		return []series{{Values: []float64{f}}}, nil
	default:
		return nil, fmt.Errorf("%s: result type %q", path, d.ResultType)
	}
}

// sampleValue is the value of a [timestamp, "value"] pair.
func sampleValue(v []any) (float64, error) {
	if len(v) != 2 {
		return 0, fmt.Errorf("sample %v is not [time, value]", v)
	}
	s, ok := v[1].(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", v[1])
	}
	return strconv.ParseFloat(s, 64) // accepts NaN, +Inf, -Inf
}

func unix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}
