package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime/debug"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/backupd/backupd/pkg/catalog"
)

// ErrHelp is returned by Parse after it printed the help or the version a
// flag asked for: nothing else is to run, and the exit status is ExitOK.
var ErrHelp = errors.New("help shown")

// Program describes one program's command line.
type Program struct {
	Name        string // "backupd"
	Description string
	// Grammar is a pointer to the kong grammar: a struct whose fields
	// declare the commands, flags and arguments, each flag with its type,
	// default (`default:""`) and environment variables (`env:""`).
	Grammar any
	// Getenv reads the environment; nil means os.Getenv. Tests pass a map.
	Getenv func(string) string
	// Stdout receives help and version output.
	Stdout io.Writer
	// BuildInfo reports how the binary was built; nil means
	// debug.ReadBuildInfo.
	BuildInfo func() (*debug.BuildInfo, bool)
	// Vars are extra ${name} values for the grammar's tags.
	Vars kong.Vars
}

// Parser parses a program's arguments and environment into its grammar.
//
// Values come from a flag, else from the first of the flag's `env`
// variables that is set and not empty, else from its default. The
// environment is read only through Program.Getenv (kong's own lookup of
// os.Getenv is switched off), so that tests are hermetic, and a variable set
// to "" counts as unset, as it did for the shell scripts this replaces.
type Parser struct {
	prog   Program
	k      *kong.Kong
	envs   map[*kong.Value][]string // the `env` tags, taken over from kong
	long   map[string]bool          // every long flag name -> it takes a value
	getenv func(string) string

	// From the last Parse.
	kctx     *kong.Context
	fromEnv  map[*kong.Value]string // value -> the variable it came from
	problems []string               // environment values that did not parse
}

// NewParser builds the parser of prog. A grammar kong rejects is a
// programming error, returned as is.
func NewParser(prog Program) (*Parser, error) {
	p := &Parser{prog: prog, getenv: prog.Getenv, envs: map[*kong.Value][]string{}, long: map[string]bool{}}
	if p.getenv == nil {
		p.getenv = os.Getenv
	}
	if prog.BuildInfo == nil {
		p.prog.BuildInfo = debug.ReadBuildInfo
	}
	if prog.Stdout == nil {
		p.prog.Stdout = os.Stdout
	}
	vars := kong.Vars{"prefix": catalog.DefaultPrefix}
	for k, v := range prog.Vars {
		vars[k] = v
	}
	k, err := kong.New(prog.Grammar,
		kong.Name(prog.Name),
		kong.Description(prog.Description),
		kong.Writers(p.prog.Stdout, io.Discard),
		kong.Exit(func(int) {}), // nothing in kong may end the process
		kong.NoDefaultHelp(),    // HelpFlag stops with ErrHelp instead
		// As the Go flag package did, a flag that takes a value takes the
		// next argument even when it starts with a dash ("--keep -3").
		kong.WithHyphenPrefixedParameters(true),
		kong.ValueFormatter(p.formatValue),
		kong.ConfigureHelp(kong.HelpOptions{WrapUpperBound: 100, Compact: true}),
		kong.Resolvers(kong.ResolverFunc(p.resolve)),
		kong.Bind(Version(prog.Name, p.prog.BuildInfo)), // for VersionFlag
		vars,
	)
	if err != nil {
		return nil, fmt.Errorf("%s: command line grammar: %w", prog.Name, err)
	}
	p.k = k
	p.takeOver(k.Model.Node)
	return p, nil
}

// takeOver moves the `env` tags out of kong's reach, so that only resolve
// reads the environment, and gives every flag its type as placeholder.
func (p *Parser) takeOver(n *kong.Node) {
	for _, f := range n.Flags {
		if len(f.Tag.Envs) > 0 {
			p.envs[f.Value] = append([]string(nil), f.Tag.Envs...)
			f.Envs, f.Tag.Envs = nil, nil
		}
		p.long[f.Name] = !f.IsBool()
		for _, a := range f.Aliases {
			p.long[a] = !f.IsBool()
		}
		if f.Tag.PlaceHolder == "" {
			f.PlaceHolder = typeName(f.Target.Type())
		}
	}
	for _, c := range n.Children {
		p.takeOver(c)
	}
}

var durationType = reflect.TypeFor[time.Duration]()

// typeName is how help names a flag's type.
func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "DURATION"
	case t == reflect.TypeFor[time.Time]():
		return "TIME"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "INT"
	case reflect.String:
		return "STRING"
	}
	return strings.ToUpper(t.Kind().String())
}

// want says what a value of type t looks like, for a message.
func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return "want a duration such as 30s or 5m"
	case t.Kind() == reflect.Bool:
		return "want true or false"
	case typeName(t) == "INT":
		return "want a whole number"
	}
	return "want a " + strings.ToLower(typeName(t))
}

// formatValue is a flag's help: its text, then its default and its
// environment variables.
func (p *Parser) formatValue(v *kong.Value) string {
	var extra []string
	if v.HasDefault && v.Default != "" && !v.IsBool() {
		extra = append(extra, "default "+v.Default)
	}
	if envs := p.envs[v]; len(envs) > 0 {
		extra = append(extra, "env "+strings.Join(envs, ", "))
	}
	if len(extra) == 0 {
		return v.Help
	}
	return v.Help + " (" + strings.Join(extra, "; ") + ")"
}

// resolve gives a flag not on the command line the value of the first of
// its variables that is set and not empty. A value that does not parse is
// recorded as a problem naming the variable, so that Parse reports all of
// them at once.
func (p *Parser) resolve(_ *kong.Context, _ *kong.Path, f *kong.Flag) (any, error) {
	for _, env := range p.envs[f.Value] {
		v := p.getenv(env)
		if v == "" {
			continue
		}
		scratch := reflect.New(f.Target.Type()).Elem()
		scan := kong.ScanFromTokens(kong.Token{Type: kong.FlagValueToken, Value: v})
		if err := f.Mapper.Decode(&kong.DecodeContext{Value: f.Value, Scan: scan}, scratch); err != nil {
			p.problems = append(p.problems, fmt.Sprintf("invalid %s=%q from %s: %s", f.Name, v, env, want(f.Target.Type())))
			return nil, nil
		}
		p.fromEnv[f.Value] = env
		return v, nil
	}
	return nil, nil
}

// Parse parses args into the grammar. It returns ErrHelp after printing
// help or the version, and a *UsageError for anything wrong with the
// arguments or the environment.
func (p *Parser) Parse(args []string) (*kong.Context, error) {
	p.fromEnv, p.problems = map[*kong.Value]string{}, nil
	kctx, err := p.k.Parse(p.normalize(args))
	if errors.Is(err, ErrHelp) {
		return nil, ErrHelp
	}
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	p.kctx = kctx
	if len(p.problems) > 0 {
		return nil, &UsageError{Msg: strings.Join(p.problems, "; ")}
	}
	return kctx, nil
}

// normalize turns the single-dash long flags the Go flag package accepted
// ("-remote x", "-debug") into kong's "--remote x", so that scripts
// written against earlier versions keep working. The value of a flag that
// takes one is left alone, even when it starts with a dash.
func (p *Parser) normalize(args []string) []string {
	out := make([]string, 0, len(args))
	value := false // args[i] is the value of the flag before it
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !value && len(a) > 2 && a[0] == '-' && a[1] != '-' {
			if name, _, _ := strings.Cut(a[1:], "="); len(name) > 1 {
				a = "-" + a
			}
		}
		out = append(out, a)
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		value = !value && strings.HasPrefix(a, "--") && !hasValue && p.long[name]
	}
	return out
}

// PrintHelp writes the help of the command named by path ("" for the
// program's own) to the program's Stdout.
func (p *Parser) PrintHelp(path ...string) error {
	_, err := p.Parse(append(path, "--help"))
	if errors.Is(err, ErrHelp) {
		return nil
	}
	return err
}

// flag returns the flag named name among the parsed command's flags.
func (p *Parser) flag(name string) *kong.Flag {
	if p.kctx == nil {
		return nil
	}
	for _, f := range p.kctx.Flags() {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Problems returns an empty list of problems for the last Parse.
func (p *Parser) Problems() *Problems { return &Problems{parser: p} }

// HelpFlag is the -h/--help flag: it prints the help of the command it
// follows and stops the parse with ErrHelp.
type HelpFlag bool

// IgnoreDefault keeps kong from treating the flag as set by default.
func (HelpFlag) IgnoreDefault() {}

// BeforeReset prints the help as soon as the flag is seen.
func (HelpFlag) BeforeReset(kctx *kong.Context) error {
	if err := kctx.PrintUsage(false); err != nil {
		return err
	}
	return ErrHelp
}

// VersionFlag is a --version flag: it prints Version and stops the parse
// with ErrHelp.
type VersionFlag bool

// BeforeReset prints the version as soon as the flag is seen.
func (VersionFlag) BeforeReset(kctx *kong.Context, v VersionString) error {
	fmt.Fprintln(kctx.Stdout, v)
	return ErrHelp
}

// Commands returns the names of the program's commands, in the order the
// grammar declares them.
func (p *Parser) Commands() []string {
	var names []string
	for _, c := range p.k.Model.Children {
		names = append(names, c.Name)
	}
	return names
}

// Version returns the program's version line (see Version).
func (p *Parser) Version() VersionString { return Version(p.prog.Name, p.prog.BuildInfo) }

// Closest returns the candidate nearest to word, for a "did you mean":
// within one edit (a letter added, dropped, changed, or two swapped) per
// three letters, at least one; "" when none is that near.
func Closest(word string, candidates []string) string {
	best, bestD := "", max(1, len(word)/3)+1
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance counts the edits from a to b: insertions, deletions,
// substitutions and swaps of neighbours (optimal string alignment).
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
