// Command gen writes tusvault's Grafana dashboard (deploy/grafana's Build)
// to a file: `go generate ./deploy/grafana` runs it as
// `go run ./gen -o tusvault.json` in deploy/grafana.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tusvault/tusvault/deploy/grafana"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", grafana.FileName, "file to write the dashboard JSON to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("no arguments expected")
	}
	b, err := grafana.Build()
	if err != nil {
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}
