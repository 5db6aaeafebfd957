package failpoint

import "strings"

// The segment and seal logs hold one record per line, each written as a
// single append of "\n" + fields + RecordEnd. An append is not atomic
// against SIGKILL: the kernel checks for a fatal signal between the pages
// it copies, so a record that spans a page of the file can be cut, and
// the next append (of any process) would run into it. The leading newline
// puts every record on a line of its own, torn or not, and the closing
// RecordEnd tells a complete record from a torn one, whose operation
// never happened (the record is written before it).
const RecordEnd = " ."

// frame is a record's append.
func frame(fields string) string { return "\n" + fields + RecordEnd }

// Record returns the fields of a log line and whether the line is a
// complete record; ok is false for an empty line and for a torn record.
func Record(line string) (fields string, ok bool) {
	return strings.CutSuffix(line, RecordEnd)
}
