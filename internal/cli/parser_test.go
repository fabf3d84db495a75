package cli

import (
	"errors"
	"io"
	"runtime/debug"
	"slices"
	"testing"
	"time"
)

// grammar is a small command line with one flag of each kind.
type grammar struct {
	Help  HelpFlag      `short:"h"`
	Count int           `default:"3" env:"T_COUNT,T_COUNT_OLD"`
	Wait  time.Duration `env:"T_WAIT"`
	Name  string        `env:"T_NAME"`
	On    bool          `env:"T_ON"`
}

func parse(t *testing.T, env map[string]string, args ...string) (*grammar, *Problems, error) {
	t.Helper()
	var g grammar
	p, err := NewParser(Program{Name: "t", Grammar: &g, Getenv: func(k string) string { return env[k] }, Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Parse(args)
	return &g, p.Problems(), err
}

func TestSources(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		count  int
		source string
	}{
		{"default", nil, nil, 3, "default"},
		{"first variable", map[string]string{"T_COUNT": "4", "T_COUNT_OLD": "5"}, nil, 4, "T_COUNT"},
		{"second variable when the first is empty", map[string]string{"T_COUNT": "", "T_COUNT_OLD": "5"}, nil, 5, "T_COUNT_OLD"},
		{"flag wins", map[string]string{"T_COUNT": "4"}, []string{"--count", "6"}, 6, "--count"},
		{"Go flag spelling", nil, []string{"-count=7"}, 7, "--count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, p, err := parse(t, tc.env, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if g.Count != tc.count || p.Source("count") != tc.source {
				t.Errorf("count = %d from %s, want %d from %s", g.Count, p.Source("count"), tc.count, tc.source)
			}
		})
	}
}

func TestTypedValuesFromTheEnvironment(t *testing.T) {
	g, _, err := parse(t, map[string]string{"T_WAIT": "90s", "T_ON": "true", "T_NAME": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Wait != 90*time.Second || !g.On || g.Name != "x" {
		t.Errorf("parsed %+v", *g)
	}
	_, _, err = parse(t, map[string]string{"T_WAIT": "soon", "T_ON": "maybe", "T_COUNT": "x"})
	want := `invalid count="x" from T_COUNT: want a whole number; invalid wait="soon" from T_WAIT: want a duration such as 30s or 5m; invalid on="maybe" from T_ON: want true or false`
	if !IsUsage(err) || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// TestHelpStops: help is shown even when the environment holds a bad value.
func TestHelpStops(t *testing.T) {
	if _, _, err := parse(t, map[string]string{"T_COUNT": "x"}, "--count", "4", "-h"); !errors.Is(err, ErrHelp) {
		t.Errorf("err = %v, want ErrHelp", err)
	}
}

func TestNormalize(t *testing.T) {
	var g grammar
	p, err := NewParser(Program{Name: "t", Grammar: &g, Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	got := p.normalize([]string{"-count", "-5", "-on", "-h", "-name=-x", "--name", "-wait", "--", "-count"})
	want := []string{"--count", "-5", "--on", "-h", "--name=-x", "--name", "-wait", "--", "-count"}
	if !slices.Equal(got, want) {
		t.Errorf("normalize = %q\nwant        %q", got, want)
	}
}

func TestVersion(t *testing.T) {
	info := func(version string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: version}, Settings: settings}, true
		}
	}
	for _, tc := range []struct {
		name string
		info func() (*debug.BuildInfo, bool)
		want VersionString
	}{
		{"release", info("v1.4.0", debug.BuildSetting{Key: "vcs.revision", Value: "abc"}, debug.BuildSetting{Key: "vcs.modified", Value: "false"}), "p v1.4.0, revision abc, go1.26.8"},
		{"dirty checkout", info("(devel)", debug.BuildSetting{Key: "vcs.revision", Value: "abc"}, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "p (devel), revision abc+dirty, go1.26.8"},
		{"no VCS stamp", info(""), "p (devel), revision unknown, go1.26.8"},
		{"no build information", func() (*debug.BuildInfo, bool) { return nil, false }, "p (no build information)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Version("p", tc.info); got != tc.want {
				t.Errorf("Version = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	cmds := []string{"now", "serve", "list", "prune", "verify", "status", "doctor", "accept", "repair-copies", "refresh", "keygen", "version", "help"}
	for word, want := range map[string]string{
		"lsit": "list", "lis": "list", "verfy": "verify", "doctr": "doctor", "repair-copy": "repair-copies",
		"bogus": "", "x": "", "": "", "nw": "now", "delete": "",
	} {
		if got := Closest(word, cmds); got != want {
			t.Errorf("Closest(%q) = %q, want %q", word, got, want)
		}
	}
}
