package costbench

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Run is one server's measurement: one upload of Size bytes sent in
// PATCHes of Patch bytes, then one verifying GET, with the object-store
// traffic of each phase.
type Run struct {
	Server string
	Size   int64 // bytes uploaded
	Patch  int64 // bytes per PATCH (the last one may be shorter)
	Upload Counts
	Get    Counts
}

// Patches is the number of PATCH requests of the upload.
func (r Run) Patches() int64 { return (r.Size + r.Patch - 1) / r.Patch }

// TusRequests is the number of requests the client sent the server: the
// POST, the PATCHes and the GET.
func (r Run) TusRequests() int64 { return r.Patches() + 2 }

// Total is the traffic of both phases.
func (r Run) Total() Counts { return r.Upload.Plus(r.Get) }

// PerByte returns wire bytes moved to and from the object store per
// uploaded byte, GET included.
func (r Run) PerByte() float64 { return r.perByte(r.Total().Sum(nil).Bytes()) }

// GetPerByte is the part of PerByte that the verifying GET moved.
func (r Run) GetPerByte() float64 { return r.perByte(r.Get.Sum(nil).Bytes()) }

func (r Run) perByte(n int64) float64 {
	if r.Size <= 0 {
		return 0
	}
	return float64(n) / float64(r.Size)
}

// Table returns the markdown tables of runs: the traffic per uploaded
// byte with the S3 requests and the tusvault/tusd ratio (of the tusd run
// with the same Size and Patch), what .info costs per tus request, and
// where the bytes go by object class.
func Table(runs []Run) string {
	var b strings.Builder
	b.WriteString("| Server | PATCH size | Bytes moved per uploaded byte | of which GET | .info share | S3 requests | per MiB | PUT | GET | HEAD | tusvault/tusd |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		t := r.Total()
		all := t.Sum(nil)
		info := t.Sum(OfClass(ClassInfo))
		ratio := ""
		if ref, ok := find(runs, "tusd", r.Size, r.Patch); ok && r.Server != "tusd" && ref.PerByte() > 0 {
			ratio = fmt.Sprintf("%.2f", r.PerByte()/ref.PerByte())
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | %.1f %% | %d | %.1f | %d | %d | %d | %s |\n",
			r.Server, sizeString(r.Patch), r.PerByte(), r.GetPerByte(), percent(info.Bytes(), all.Bytes()),
			all.Requests, float64(all.Requests)/(float64(r.Size)/(1<<20)),
			t.Sum(Method(http.MethodPut)).Requests, t.Sum(Method(http.MethodGet)).Requests,
			t.Sum(Method(http.MethodHead)).Requests, ratio)
	}
	b.WriteString("\n`.info` per tus request (POST, PATCHes and GET; body bytes):\n\n")
	b.WriteString("| Server | PATCH size | tus requests | .info reads | .info writes | read per tus request | written per tus request | mean .info written |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		t := r.Total()
		rd := t.Sum(func(k Kind) bool { return k.Class == ClassInfo && k.Method == http.MethodGet })
		wr := t.Sum(func(k Kind) bool { return k.Class == ClassInfo && k.Method == http.MethodPut })
		n := r.TusRequests()
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %s | %s | %s |\n", r.Server, sizeString(r.Patch), n,
			rd.Requests, wr.Requests, byteString(rd.BodyDown/n), byteString(wr.BodyUp/n), byteString(div(wr.BodyUp, wr.Requests)))
	}
	b.WriteString("\nWhere the bytes go, per uploaded byte (wire bytes; data is the upload's object and its parts):\n\n")
	b.WriteString("| Server | PATCH size | to data | to .part | to .info | to .tags | from data | from .part | from .info | from .tags | other |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		t := r.Total()
		var known int64
		cell := func(c Class, up bool) string {
			s := t.Sum(OfClass(c))
			n := s.Down
			if up {
				n = s.Up
			}
			known += n
			return fmt.Sprintf("%.2f", r.perByte(n))
		}
		row := []string{r.Server, sizeString(r.Patch),
			cell(ClassData, true), cell(ClassPart, true), cell(ClassInfo, true), cell(ClassTags, true),
			cell(ClassData, false), cell(ClassPart, false), cell(ClassInfo, false), cell(ClassTags, false)}
		row = append(row, fmt.Sprintf("%.2f", r.perByte(t.Sum(nil).Bytes()-known)))
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\nS3 requests by kind (operation and object; failed: status 400 or more):\n\n")
	b.WriteString("| Server | PATCH size | requests |\n|---|---:|---|\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.Server, sizeString(r.Patch), kindList(r.Total()))
	}
	return b.String()
}

// kindList writes c's request counts by kind, most requests first, as
// "GetObject .info 97, ...", with the failed ones in parentheses.
func kindList(c Counts) string {
	kinds := slices.Collect(maps.Keys(c))
	slices.SortFunc(kinds, func(a, b Kind) int {
		if d := cmp.Compare(c[b].Requests, c[a].Requests); d != 0 {
			return d
		}
		return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	var parts []string
	for _, k := range kinds {
		s := fmt.Sprintf("%s %s %d", k.Op, k.Class, c[k].Requests)
		if f := c[k].Failed; f > 0 {
			s += fmt.Sprintf(" (%d failed)", f)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// find returns the run of server with the given Size and Patch.
func find(runs []Run, server string, size, patch int64) (Run, bool) {
	for _, r := range runs {
		if r.Server == server && r.Size == size && r.Patch == patch {
			return r, true
		}
	}
	return Run{}, false
}

func percent(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

func div(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// sizeString writes n as MiB or KiB when it is a whole number of them.
func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// byteString writes n bytes for a table: B below 10 KiB, else KiB or MiB
// with one decimal.
func byteString(n int64) string {
	switch {
	case n < 10<<10:
		return fmt.Sprintf("%d B", n)
	case n < 10<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
