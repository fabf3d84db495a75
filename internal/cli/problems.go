package cli

import (
	"errors"
	"fmt"
	"strings"
)

// UsageError is a bad or missing setting; it maps to ExitUsage.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Problems collects what is wrong with a command's settings after Parse,
// so that one message reports all of it before anything runs. Its messages
// name the flag and its environment variables.
type Problems struct {
	parser *Parser
	list   []string
}

// Fresh returns an empty list for the same parse.
func (p *Problems) Fresh() *Problems { return &Problems{parser: p.parser} }

// Getenv reads the environment the parser reads.
func (p *Problems) Getenv(key string) string { return p.parser.getenv(key) }

// Name names a flag for a message: "--db-name or DB_DATABASE".
func (p *Problems) Name(flag string) string {
	n := "--" + flag
	if f := p.parser.flag(flag); f != nil {
		if envs := p.parser.envs[f.Value]; len(envs) > 0 {
			n += " or " + strings.Join(envs, "/")
		}
	}
	return n
}

// Source says where a flag's value came from: "--db-port", "DB_PORT" or
// "default".
func (p *Problems) Source(flag string) string {
	f := p.parser.flag(flag)
	if f == nil || p.parser.kctx == nil {
		return "default"
	}
	if env, ok := p.parser.fromEnv[f.Value]; ok {
		return env
	}
	for _, path := range p.parser.kctx.Path {
		if path.Flag == f && !path.Resolved {
			return "--" + flag
		}
	}
	return "default"
}

// FromFlag reports whether the flag was given on the command line.
func (p *Problems) FromFlag(flag string) bool { return p.Source(flag) == "--"+flag }

// Missing records a required setting that has no value.
func (p *Problems) Missing(flag, what string) {
	p.list = append(p.list, fmt.Sprintf("missing %s: set %s", what, p.Name(flag)))
}

// Invalid records a value the setting does not accept, and what it wants.
func (p *Problems) Invalid(flag string, value any, want string) {
	p.list = append(p.list, fmt.Sprintf("invalid %s=%q from %s: %s", flag, fmt.Sprint(value), p.Source(flag), want))
}

// Addf records any other problem; the message names the settings itself.
func (p *Problems) Addf(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// Err returns nil when nothing is wrong, else one UsageError listing every
// problem.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &UsageError{Msg: strings.Join(p.list, "; ")}
}
