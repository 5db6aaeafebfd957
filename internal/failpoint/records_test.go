package failpoint

import (
	"strings"
	"testing"
)

// Records appended one after the other, one of them cut short by a
// SIGKILL, read back as the whole ones, each on its line; the torn one
// and the empty first line are not records.
func TestRecordFraming(t *testing.T) {
	whole := frame("u1 0 aa")
	torn := frame("u1 5 bb")[:6]
	log := whole + torn + frame("u2 0 cc") + frame("u1 7 dd")
	var got []string
	for _, line := range strings.Split(log, "\n") {
		if fields, ok := Record(line); ok {
			got = append(got, fields)
		}
	}
	if want := []string{"u1 0 aa", "u2 0 cc", "u1 7 dd"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("records %q, want %q", got, want)
	}
	if _, ok := Record(torn[1:]); ok {
		t.Errorf("the torn record %q reads as whole", torn[1:])
	}
}
