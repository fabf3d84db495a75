package sqltext

import (
	"bytes"
	"strings"
)

// Source is where a dump comes from, as the comments of its header say:
// both dump programs write "-- MySQL dump ..." or "-- MariaDB dump ..."
// on the first line and "-- Server version<TAB>..." a few lines below.
// The header is as untrusted as the rest of the dump: it decides only how
// the dump is read, never what it may do.
type Source struct {
	// Program is "MySQL" or "MariaDB": whose dump program wrote the
	// dump; "" when the header does not say.
	Program string
	// Distrib is the dump program's own version ("8.0.36",
	// "10.11.19-MariaDB"); "" when not given.
	Distrib string
	// Server is the dumped server's version ("8.0.36-0ubuntu0.22.04.3",
	// "10.11.19-MariaDB-0+deb12u1"); "" when not given.
	Server string
}

// read takes in one comment line of the header.
func (s *Source) read(line []byte) {
	switch {
	case bytes.HasPrefix(line, []byte("-- MySQL dump ")):
		s.Program = "MySQL"
		s.Distrib = distrib(string(line[len("-- MySQL dump "):]))
	case bytes.HasPrefix(line, []byte("-- MariaDB dump ")):
		s.Program = "MariaDB"
		s.Distrib = distrib(string(line[len("-- MariaDB dump "):]))
	case bytes.HasPrefix(line, []byte("-- Server version")):
		v := strings.TrimSpace(string(line[len("-- Server version"):]))
		if f := strings.Fields(v); len(f) > 0 && len(f[0]) <= 80 {
			s.Server = f[0]
		}
	}
}

// distrib reads the program's version from the rest of a first line:
// "10.13  Distrib 8.0.36, for Linux (x86_64)" or, from MariaDB 11,
// "10.19-11.6.2-MariaDB, for Linux (x86_64)".
func distrib(rest string) string {
	rest, _, _ = strings.Cut(rest, ",")
	if _, v, ok := strings.Cut(rest, "Distrib "); ok {
		rest = v
	} else if _, v, ok := strings.Cut(rest, "-"); ok {
		rest = v
	} else {
		return ""
	}
	rest = strings.TrimSpace(rest)
	if len(rest) > 80 {
		return ""
	}
	return rest
}

// Version returns the version whose conditional comments the dump was
// written for, and whether it is MySQL's: the dumped server's, else the
// dump program's. It reports false for a MariaDB dump, and for a header
// that names no version it can read.
func (s Source) Version() (ServerVersion, bool) {
	v := s.Server
	mysql := v != "" && !strings.Contains(v, "MariaDB")
	if v == "" {
		v = s.Distrib
		mysql = s.Program == "MySQL" && !strings.Contains(v, "MariaDB")
	}
	n, err := ParseServerVersion(v)
	if err != nil || !mysql {
		return ServerVersion{}, false
	}
	return n, true
}

// String names the source for logs: "MySQL 8.0.36", "MariaDB
// 10.11.19-MariaDB-0+deb12u1", or "" when the header says nothing.
func (s Source) String() string {
	v := s.Server
	if v == "" {
		v = s.Distrib
	}
	if v == "" {
		return s.Program
	}
	if strings.Contains(v, "MariaDB") {
		return "MariaDB " + v
	}
	if s.Server != "" || s.Program == "MySQL" {
		return "MySQL " + v
	}
	return v
}
