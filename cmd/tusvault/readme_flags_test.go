package main

import (
	"flag"
	"os"
	"strings"
	"testing"
)

// Every flag of tusvault's own (not tusd's) is documented in the README,
// as `-name`.
func TestOwnFlagsInReadme(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	c := defaultConfig()
	fs, _ := c.newFlagSet()
	fs.VisitAll(func(f *flag.Flag) {
		if _, tusd := tusdDefaults[f.Name]; tusd {
			return
		}
		if !strings.Contains(string(readme), "`-"+f.Name) {
			t.Errorf("-%s is not in the README", f.Name)
		}
	})
}
