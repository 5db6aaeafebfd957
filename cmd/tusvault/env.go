package main

import (
	"flag"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// envPrefix starts the name of every variable that sets a flag.
const envPrefix = "TUSVAULT_"

// envVar is the variable that sets the flag name: TUSVAULT_ and the name in
// upper case, dashes as underscores (-s3-bucket: TUSVAULT_S3_BUCKET).
func envVar(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// notFromEnv are the serve flags no variable sets. -version is an action,
// not a setting; and TUSVAULT_VERSION is what build systems name a release
// tag, which would make serve print its version and exit.
var notFromEnv = map[string]bool{"version": true}

// envExcept are, per subcommand (its flag set's name), the flags that
// share a serve flag's name but not its meaning, so that the server's
// variable must not set them: the token's -max-size is a claim of the
// token, not the server's limit.
var envExcept = map[string][]string{
	"token home":  {"max-size"},
	"token guest": {"max-size"},
}

// serveFlagNames is the set of the serve flags' names.
func serveFlagNames() map[string]bool {
	c := defaultConfig()
	fs, _ := c.newFlagSet()
	names := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	return names
}

// fromEnvServe reports whether a variable may set the serve flag name.
func fromEnvServe(name string) bool { return !notFromEnv[name] }

// fromEnvShared returns which flags of the subcommand flag set cmd a
// variable may set: those that are serve flags of the same meaning, so
// that the variables configuring a server (in a container's environment,
// a unit's EnvironmentFile) configure the offline commands run beside it
// alike (the storage flags, the auth secret and claims checked, the
// address of healthcheck), and none of the subcommand's own (decrypt -o,
// token -ttl).
func fromEnvShared(cmd string) func(string) bool {
	serve := serveFlagNames()
	return func(name string) bool {
		return serve[name] && !notFromEnv[name] && !slices.Contains(envExcept[cmd], name)
	}
}

// envSet maps the flags the environment set to the variables that set
// them.
type envSet map[string]string

// applyEnv sets every flag of fs that want admits and that the command
// line did not set from its variable (envVar), when getenv gives that a
// value: flags win over the environment. It runs after fs.Parse, over
// whatever flags fs holds, so that a flag added to a command is settable
// from the environment without more code. A flag counts as set on the
// command line when an alias of it is (another name bound to the same
// variable, as -part-size and -s3-part-size). getenv cannot tell an empty
// variable from a missing one, so an empty value sets nothing: give an
// empty value on the command line.
//
// A value the flag refuses is an error naming the variable; so are two
// variables giving an alias pair different values.
func applyEnv(fs *flag.FlagSet, getenv func(string) string, want func(string) bool) (envSet, error) {
	// Flags bound to the same variable share one flag.Value (the flag
	// package's values are pointers to the variable); values that cannot
	// be compared are nobody's alias.
	type aliasKey = flag.Value
	aliasOf := func(f *flag.Flag) (aliasKey, bool) {
		if !reflect.ValueOf(f.Value).Comparable() {
			return nil, false
		}
		return f.Value, true
	}
	onCommandLine := map[aliasKey]bool{}
	setByName := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		setByName[f.Name] = true
		if k, ok := aliasOf(f); ok {
			onCommandLine[k] = true
		}
	})

	type fromEnv struct{ name, variable, value string }
	byAlias := map[aliasKey]fromEnv{}
	set := envSet{}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || setByName[f.Name] || !want(f.Name) {
			return
		}
		k, comparable := aliasOf(f)
		if comparable && onCommandLine[k] {
			return
		}
		variable := envVar(f.Name)
		v := getenv(variable)
		if v == "" {
			return
		}
		if comparable {
			if prev, ok := byAlias[k]; ok {
				if prev.value != v {
					err = fmt.Errorf("%s and %s set the same flag (-%s, -%s) to different values: give one", prev.variable, variable, prev.name, f.Name)
				}
				return
			}
			byAlias[k] = fromEnv{f.Name, variable, v}
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("invalid value %q for %s (-%s): %w", v, variable, f.Name, e)
			return
		}
		set[f.Name] = variable
	})
	if err != nil {
		return nil, err
	}
	return set, nil
}

// explain adds to err, a message naming flags, the variables that set
// those of them that came from the environment, so that an operator who
// never typed the flag finds the value: `invalid -port "x": ... (set by
// TUSVAULT_PORT)`.
func (e envSet) explain(err error) error {
	if err == nil || len(e) == 0 {
		return err
	}
	msg := err.Error()
	var vars []string
	for name, variable := range e {
		if mentionsFlag(msg, name) {
			vars = append(vars, variable)
		}
	}
	if len(vars) == 0 {
		return err
	}
	slices.Sort(vars)
	return fmt.Errorf("%w (set by %s)", err, strings.Join(vars, ", "))
}

// mentionsFlag reports whether msg names the flag -name as a whole word
// (-part-size is not mentioned by -s3-part-size).
func mentionsFlag(msg, name string) bool {
	word := func(b byte) bool { return b == '-' || b == '_' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' }
	needle := "-" + name
	for i := 0; ; {
		j := strings.Index(msg[i:], needle)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(needle)
		if (start == 0 || !word(msg[start-1])) && (end == len(msg) || !word(msg[end])) {
			return true
		}
		i = start + 1
	}
}
