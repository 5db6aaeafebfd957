package costbench

import (
	"maps"
	"net/http"
	"net/url"
	"strings"
)

// Op is the S3 operation of a request, told from its method, its query
// and the copy-source header.
type Op string

// The operations the servers send.
const (
	OpPutObject         Op = "PutObject"
	OpGetObject         Op = "GetObject"
	OpHeadObject        Op = "HeadObject"
	OpDeleteObject      Op = "DeleteObject"
	OpCopyObject        Op = "CopyObject"
	OpCreateMultipart   Op = "CreateMultipartUpload"
	OpUploadPart        Op = "UploadPart"
	OpUploadPartCopy    Op = "UploadPartCopy"
	OpCompleteMultipart Op = "CompleteMultipartUpload"
	OpAbortMultipart    Op = "AbortMultipartUpload"
	OpListParts         Op = "ListParts"
	OpListMultipart     Op = "ListMultipartUploads"
	OpBucket            Op = "Bucket" // any request on the bucket itself (list, head, delete of many)
	OpOther             Op = "Other"
)

// Class is what kind of object a request names, told from its key.
type Class string

// The object classes of both servers' layouts: tusd and tusvault both
// keep an upload's state in <id>.info and the bytes short of a part in
// <id>.part, tusvault's later layout in tail fragments
// <id>.part.<off>-<random> (class .part) and segment pages <id>.segs.<n>
// (class .info), format v2's tag objects <id>.tags.<p> (class .tags);
// everything else is the upload's data object.
const (
	ClassInfo   Class = ".info"
	ClassPart   Class = ".part"
	ClassTags   Class = ".tags"
	ClassData   Class = "data"
	ClassBucket Class = "bucket" // no key
)

// Kind is the tally key of a request: its HTTP method, operation and
// object class.
type Kind struct {
	Method string
	Op     Op
	Class  Class
}

// Classify returns the kind of an S3 request. Both path-style
// (/bucket/key) and virtual-hosted (/key) addressing work, since only
// the key's end tells the class; a path of one segment or less counts as
// the bucket under path-style addressing, which the servers here use.
func Classify(method string, u *url.URL, h http.Header) Kind {
	q := u.Query()
	path := strings.Trim(u.Path, "/")
	class := ClassData
	switch {
	case !strings.Contains(path, "/"):
		class = ClassBucket
	case strings.HasSuffix(path, ".info"), strings.Contains(path, ".segs."):
		class = ClassInfo
	case strings.HasSuffix(path, ".part"), strings.Contains(path, ".part."):
		class = ClassPart
	case strings.Contains(path, ".tags."):
		class = ClassTags
	}
	copySource := h.Get("X-Amz-Copy-Source") != ""
	var op Op
	switch {
	case class == ClassBucket:
		op = OpBucket
	case method == http.MethodPut && q.Has("partNumber") && q.Has("uploadId"):
		op = OpUploadPart
		if copySource {
			op = OpUploadPartCopy
		}
	case method == http.MethodPost && q.Has("uploads"):
		op = OpCreateMultipart
	case method == http.MethodPost && q.Has("uploadId"):
		op = OpCompleteMultipart
	case method == http.MethodDelete && q.Has("uploadId"):
		op = OpAbortMultipart
	case method == http.MethodGet && q.Has("uploadId"):
		op = OpListParts
	case method == http.MethodGet && q.Has("uploads"):
		op = OpListMultipart
	case method == http.MethodPut && copySource:
		op = OpCopyObject
	case method == http.MethodPut:
		op = OpPutObject
	case method == http.MethodGet:
		op = OpGetObject
	case method == http.MethodHead:
		op = OpHeadObject
	case method == http.MethodDelete:
		op = OpDeleteObject
	default:
		op = OpOther
	}
	return Kind{Method: method, Op: op, Class: class}
}

// Tally is what the requests of one kind moved. Wire bytes are whole
// HTTP messages (request line or status line, headers, framing and
// body); body bytes are the decoded message bodies.
type Tally struct {
	Requests int64
	Up       int64 // wire bytes of the requests: to the object store
	Down     int64 // wire bytes of the responses: from the object store
	BodyUp   int64
	BodyDown int64
	Failed   int64 // responses with a status of 400 or more (a HEAD of a missing .part is one)
}

func (t *Tally) add(o Tally) {
	t.Requests += o.Requests
	t.Up += o.Up
	t.Down += o.Down
	t.BodyUp += o.BodyUp
	t.BodyDown += o.BodyDown
	t.Failed += o.Failed
}

// Bytes is the wire bytes both ways.
func (t Tally) Bytes() int64 { return t.Up + t.Down }

// Counts is a tally per kind of request.
type Counts map[Kind]Tally

// Sub returns c minus an earlier snapshot of the same counters.
func (c Counts) Sub(earlier Counts) Counts {
	d := maps.Clone(c)
	for k, e := range earlier {
		t := d[k]
		t.add(Tally{-e.Requests, -e.Up, -e.Down, -e.BodyUp, -e.BodyDown, -e.Failed})
		if t == (Tally{}) {
			delete(d, k)
		} else {
			d[k] = t
		}
	}
	return d
}

// Plus returns the sum of c and o.
func (c Counts) Plus(o Counts) Counts {
	s := maps.Clone(c)
	if s == nil {
		s = Counts{}
	}
	for k, t := range o {
		v := s[k]
		v.add(t)
		s[k] = v
	}
	return s
}

// Sum returns the tally of the kinds for which keep returns true (nil:
// all of them).
func (c Counts) Sum(keep func(Kind) bool) Tally {
	var s Tally
	for k, t := range c {
		if keep == nil || keep(k) {
			s.add(t)
		}
	}
	return s
}

// Method returns a filter for Sum: the operations sent with HTTP method m.
func Method(m string) func(Kind) bool {
	return func(k Kind) bool { return k.Method == m }
}

// OfClass returns a filter for Sum: the requests on objects of class c.
func OfClass(c Class) func(Kind) bool {
	return func(k Kind) bool { return k.Class == c }
}
