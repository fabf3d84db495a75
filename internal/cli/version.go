package cli

import (
	"runtime/debug"
)

// VersionString is a program's version line, as Version makes it.
type VersionString string

// Version describes the running binary from its build information: the
// module version ("(devel)" for a build from a checkout), the VCS revision
// with "+dirty" when the work tree had changes, and the Go version.
func Version(program string, buildInfo func() (*debug.BuildInfo, bool)) VersionString {
	info, ok := buildInfo()
	if !ok {
		return VersionString(program + " (no build information)")
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	revision, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		revision += "+dirty"
	}
	line := program + " " + version + ", revision " + revision
	if info.GoVersion != "" {
		line += ", " + info.GoVersion
	}
	return VersionString(line)
}
