package testdb

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The server and client builds the tests run against (scripts/versions.sh
// fetches all but System).
const (
	// System is Debian's mariadb-server and mariadb-client on this
	// machine (MariaDB 10.11 on Debian 12).
	System = "system"
	// MariaDB118 is Debian 13's MariaDB 11.8: the app image's dump tool
	// and the yesterday image's server.
	MariaDB118 = "mariadb-11.8"
	// MySQL97 is Debian sid's MySQL 9.x, standing in for production's
	// MySQL 8.0.
	MySQL97 = "mysql-9.7"
)

// Products are the builds, in the matrix's order.
var Products = []string{System, MariaDB118, MySQL97}

// MySQL reports whether product is Oracle's MySQL.
func MySQL(product string) bool { return strings.HasPrefix(product, "mysql-") }

var (
	productMu      sync.Mutex
	productServers = map[string]*Server{}
	productErrs    = map[string]error{}
	productBins    = map[string]string{}
)

// errNotServed is a product the package registry no longer serves.
var errNotServed = errors.New("not served by the package registry")

// Root returns the root folder of the repository.
func Root() string { return filepath.Join(filepath.Dir(Script()), "..") }

// Bin returns the folder of product's client tools, fetching the product
// when it is not in the cache. For System it is the folder scripts/test.sh
// found them in, "" (the tools on PATH) when the tests run without it. A
// product the registry no longer serves skips the test (MySQL) or fails
// it (MariaDB, which the yesterday image and the app image both need).
func Bin(t testing.TB, product string) string {
	t.Helper()
	if product == System {
		return binFromEnv(System)
	}
	productMu.Lock()
	defer productMu.Unlock()
	if b, ok := productBins[product]; ok {
		return b
	}
	if err := productErrs[product]; err != nil {
		unavailableProduct(t, product, err)
	}
	b, err := fetch(product)
	if err != nil {
		productErrs[product] = err
		unavailableProduct(t, product, err)
	}
	productBins[product] = b
	return b
}

func fetch(product string) (string, error) {
	if dir := binFromEnv(product); dir != "" {
		return dir, nil
	}
	cmd := exec.Command(filepath.Join(Root(), "scripts", "versions.sh"), product)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 4 {
			return "", fmt.Errorf("%w: %s", errNotServed, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("fetch %s: %v: %s", product, err, strings.TrimSpace(stderr.String()))
	}
	return filepath.Join(strings.TrimSpace(string(out)), "bin"), nil
}

// unavailableProduct skips or fails a test whose product cannot be had:
// MySQL skips with the reason when the registry stopped serving it;
// everything else is Unavailable (a failure in CI).
func unavailableProduct(t testing.TB, product string, err error) {
	t.Helper()
	if MySQL(product) && errors.Is(err, errNotServed) {
		t.Skipf("%s: %v", product, err)
	}
	Unavailable(t, fmt.Errorf("%s: %w", product, err))
}

// For returns a running server of product: the one scripts/test.sh
// started (BACKUPD_TEST_SERVERS), the main server when it is that
// product, or one this test binary starts and stops at exit (see Main).
func For(t testing.TB, product string) *Server {
	t.Helper()
	if product == mainProduct() {
		return Get(t)
	}
	if s := serverFromEnv(product); s != nil {
		return s
	}
	bin := Bin(t, product)
	productMu.Lock()
	defer productMu.Unlock()
	if s, ok := productServers[product]; ok {
		return s
	}
	if err := productErrs[product]; err != nil {
		unavailableProduct(t, product, err)
	}
	dir, err := os.MkdirTemp("", "backupd-"+product+"-")
	if err == nil {
		var s *Server
		s, err = startProduct(dir, product)
		if err == nil {
			s.Product, s.Bin = product, bin
			productServers[product] = s
			return s
		}
		os.RemoveAll(dir)
	}
	productErrs[product] = err
	unavailableProduct(t, product, err)
	return nil
}

// mainProduct is the product of the main server (Get).
func mainProduct() string {
	if p := os.Getenv("BACKUPD_TEST_PRODUCT"); p != "" {
		return p
	}
	return System
}

// MainProduct is the product of the server Get returns.
func MainProduct() string { return mainProduct() }

// serverFromEnv finds product in BACKUPD_TEST_SERVERS, a space-separated
// list of product=socket:port.
func serverFromEnv(product string) *Server {
	for _, f := range strings.Fields(os.Getenv("BACKUPD_TEST_SERVERS")) {
		name, where, _ := strings.Cut(f, "=")
		if name != product {
			continue
		}
		sock, port, _ := strings.Cut(where, ":")
		n, _ := strconv.Atoi(port)
		return &Server{Socket: sock, Host: "127.0.0.1", Port: n, Product: product, Bin: binFromEnv(product)}
	}
	return nil
}

// binFromEnv finds product in BACKUPD_TEST_TOOLS, a space-separated list
// of product=bindir.
func binFromEnv(product string) string {
	for _, f := range strings.Fields(os.Getenv("BACKUPD_TEST_TOOLS")) {
		if name, dir, _ := strings.Cut(f, "="); name == product {
			return dir
		}
	}
	return ""
}

// Tool returns the path of a client tool of product ("mariadb-dump",
// "mysqldump", "mariadb", "mysql"): the first of names that it has.
func Tool(t testing.TB, product string, names ...string) string {
	t.Helper()
	bin := Bin(t, product)
	for _, n := range names {
		if bin == "" {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
			continue
		}
		if p := filepath.Join(bin, n); isExec(p) {
			return p
		}
	}
	t.Fatalf("%s has none of %s", product, strings.Join(names, ", "))
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

func startProduct(dir, product string, opts ...string) (*Server, error) {
	cmd := exec.Command(Script(), "start", dir)
	cmd.Env = append(os.Environ(), "SERVER="+product, "MARIADB_OPTS="+strings.Join(opts, " "))
	return startWith(cmd, dir)
}

// StartPrivateProduct starts a server of product for one test, with extra
// server options (no blanks in them), and stops it when the test ends.
func StartPrivateProduct(t testing.TB, product string, opts ...string) *Server {
	t.Helper()
	bin := Bin(t, product)
	dir := t.TempDir()
	s, err := startProduct(dir, product, opts...)
	if err != nil {
		unavailableProduct(t, product, err)
	}
	s.Product, s.Bin = product, bin
	t.Cleanup(s.Stop)
	return s
}

// stopProducts stops the servers For started.
func stopProducts() {
	productMu.Lock()
	defer productMu.Unlock()
	names := make([]string, 0, len(productServers))
	for n := range productServers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := productServers[n]
		s.Stop()
		os.RemoveAll(s.dir)
	}
}
