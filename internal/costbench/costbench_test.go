package costbench

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tusvault/tusvault/internal/bench"
)

// reducedPlan is the run of `make test`. It needs two full parts of
// 10 MiB and a tail to show how the tail is stored; the table's own run
// takes about 20 s, so make test runs it whole, and TestTrafficTargets
// judges tusvault on the sizes the targets of issue 12 were set on.
var reducedPlan = fullPlan

// reduced is the reduced run, measured once for TestReducedRun and
// TestTrafficTargets, whichever runs first.
var reduced struct {
	once sync.Once
	runs []Run
}

// reducedRuns measures reducedPlan with tusvault built from the tree
// (or $TUSVAULT_BENCH_TUSVAULT) and bin/tusd, once.
func reducedRuns(t *testing.T) []Run {
	reduced.once.Do(func() {
		tusvault := os.Getenv("TUSVAULT_BENCH_TUSVAULT")
		if tusvault == "" {
			tusvault = bench.BuildTusvault(t)
		}
		g := newRig(t, tusvault)
		runs := g.runAll(t, reducedPlan)
		if !t.Failed() {
			reduced.runs = runs
		}
	})
	if reduced.runs == nil {
		t.Fatal("costbench: the reduced run did not complete (see the first of TestReducedRun and TestTrafficTargets)")
	}
	return reduced.runs
}

// TestReducedRun checks the reduced run: every upload came back
// unchanged (measure checks the SHA-256), the proxy parsed every byte,
// and the counts make sense: one multipart upload completed per run,
// every uploaded byte reached the data object at least once and came
// back once in the GET, at least one PUT per PATCH, .info written.
func TestReducedRun(t *testing.T) {
	runs := reducedRuns(t)
	// tusd, tusvault and tusvault with its default part size (newRig).
	if want := 3 * len(reducedPlan.patches); len(runs) != want {
		t.Fatalf("%d runs, want %d", len(runs), want)
	}
	for _, r := range runs {
		name := r.Server + "/" + sizeString(r.Patch)
		tot := r.Total()
		count := func(op Op) int64 { return tot.Sum(func(k Kind) bool { return k.Op == op }).Requests }
		dataGet := r.Get.Sum(func(k Kind) bool { return k.Op == OpGetObject && k.Class == ClassData }).BodyDown
		infoPuts := tot.Sum(func(k Kind) bool { return k.Op == OpPutObject && k.Class == ClassInfo }).Requests
		checks := []struct {
			what string
			ok   bool
			got  any
		}{
			{"CreateMultipartUpload requests", count(OpCreateMultipart) == 1, count(OpCreateMultipart)},
			{"CompleteMultipartUpload requests", count(OpCompleteMultipart) == 1, count(OpCompleteMultipart)},
			{"UploadPart requests (at least one per 10 MiB)", count(OpUploadPart) >= r.Size/bench.PartSize, count(OpUploadPart)},
			{"PUT requests of the upload (at least one per PATCH)", r.Upload.Sum(Method(http.MethodPut)).Requests >= r.Patches(), r.Upload.Sum(Method(http.MethodPut)).Requests},
			{"data body bytes to the store (at least the upload)", tot.Sum(OfClass(ClassData)).BodyUp >= r.Size, tot.Sum(OfClass(ClassData)).BodyUp},
			{"GetObject body bytes of the data object in the GET (the upload, once)", dataGet == r.Size, dataGet},
			{"nothing written during the GET", r.Get.Sum(nil).BodyUp == 0, r.Get.Sum(nil).BodyUp},
			{".info writes", infoPuts >= 1, infoPuts},
			{"bytes moved per uploaded byte (at least the upload and the GET)", r.PerByte() >= 2, r.PerByte()},
			{"requests of other kinds", count(OpOther) == 0, count(OpOther)},
		}
		for _, c := range checks {
			if !c.ok {
				t.Errorf("%s: %s: %v", name, c.what, c.got)
			}
		}
	}
	table := Table(runs)
	for _, want := range []string{"| tusvault | 256 KiB |", "| tusd | 5 MiB |", "tusvault/tusd", ".info"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	t.Log("\n" + report("go test -run TestReducedRun ./internal/costbench/", reducedPlan.size, runs))
}

// Targets of issue 12 for the object-store traffic of tusvault, GET
// included.
const (
	maxPerByte     = 3.2 // bytes moved per uploaded byte, PATCHes from minPatch up
	maxOfTusd      = 0.6 // and at most this share of tusd's, where tusd's is above maxPerByte/maxOfTusd
	minTargetPatch = 256 << 10
)

// TestTrafficTargets holds tusvault to the traffic targets of issue 12 on
// the reduced run. Byte counts do not depend on timing: this is a
// pass/fail test.
func TestTrafficTargets(t *testing.T) {
	runs := reducedRuns(t)
	var misses []string
	for _, r := range runs {
		if !strings.HasPrefix(r.Server, "tusvault") || r.Patch < minTargetPatch {
			continue
		}
		if r.PerByte() > maxPerByte {
			misses = append(misses, fmt.Sprintf("%s, %s PATCHes: %.2f bytes per uploaded byte, want at most %.1f", r.Server, sizeString(r.Patch), r.PerByte(), maxPerByte))
		}
		ref, ok := find(runs, "tusd", r.Size, r.Patch)
		if !ok {
			t.Errorf("no tusd run at %s PATCHes to compare with", sizeString(r.Patch))
			continue
		}
		if ref.PerByte() > maxPerByte/maxOfTusd && r.PerByte() > maxOfTusd*ref.PerByte() {
			misses = append(misses, fmt.Sprintf("%s, %s PATCHes: %.2f × tusd's %.2f bytes per uploaded byte, want at most %.1f ×",
				r.Server, sizeString(r.Patch), r.PerByte()/ref.PerByte(), ref.PerByte(), maxOfTusd))
		}
	}
	if len(misses) > 0 {
		t.Errorf("tusvault's object-store traffic (%s uploads, one GET included) misses the targets of issue 12:\n  %s\n\n%s",
			sizeString(reducedPlan.size), strings.Join(misses, "\n  "), Table(runs))
	}
}

// BenchmarkTraffic measures the table of issue 12 (fullPlan): each
// server, each PATCH size, once whatever b.N is; run it with
// -benchtime=1x. It prints the tables and writes them to
// $TUSVAULT_COSTBENCH_REPORT when set.
func BenchmarkTraffic(b *testing.B) {
	tusvault := bench.FindBinary(b, "tusvault", bench.EnvTusvault, "build it with `make build`")
	g := newRig(b, tusvault)
	runs := g.runAll(b, fullPlan)
	if b.Failed() {
		return
	}
	text := report("make bench-traffic", fullPlan.size, runs)
	writeReport(b, text)
	fmt.Print("\n" + text)
}
