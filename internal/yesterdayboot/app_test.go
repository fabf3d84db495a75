package yesterdayboot

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
)

// appEnv makes the test binary run as the app (runApp) instead of the
// tests: yesterday-start.sh starts it as the machine's app command.
const appEnv = "BOOT_APP_EVENTS"

// The reads of the app, by kind: a table, a view and a routine. %d is a
// random row.
var appReads = []struct{ kind, query string }{
	{"table", "SELECT email, balance FROM users WHERE id = %d"},
	{"view", "SELECT status, total, email, generation FROM order_view WHERE id = %d"},
	{"routine", "CALL user_orders(%d)"},
}

// event is one thing the app did: a read of a kind (its time, its error),
// or a page that says the restore is under way (kind "page").
type event struct {
	At      time.Time `json:"at"`
	Round   int       `json:"round"`
	Kind    string    `json:"kind"`
	Millis  float64   `json:"ms,omitempty"`
	Err     string    `json:"err,omitempty"`
	Banner  string    `json:"banner,omitempty"`
	State   string    `json:"state,omitempty"`
	Percent *int      `json:"percent,omitempty"`
	Gen     string    `json:"gen,omitempty"` // the view's generation column
}

// changing is the banner of a round during which the banner changed.
const changing = "(changing)"

// runApp is the app: every 100 ms it reads the banner and the status
// file as the app would; while the status file says "restoring" or
// "failed" it shows that page, else it reads a table, a view and a
// routine as the app's user, each on a new connection as PHP does. It
// appends one JSON line per event to $BOOT_APP_EVENTS and ends on
// SIGTERM.
func runApp() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	f, err := os.OpenFile(os.Getenv(appEnv), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		return 1
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	enc := json.NewEncoder(w)
	users, _ := strconv.Atoi(os.Getenv("BOOT_USERS"))
	orders, _ := strconv.Atoi(os.Getenv("BOOT_ORDERS"))
	conn := mariadb.Conn{Socket: os.Getenv("YESTERDAY_MARIADB_SOCKET"), User: os.Getenv("DB_USERNAME"),
		Password: os.Getenv("DB_PASSWORD"), Database: os.Getenv("DB_DATABASE")}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for round := 1; ; round++ {
		banner := readBanner(os.Getenv("YESTERDAY_SNAPSHOT_FILE"))
		if state, pct := readState(os.Getenv("YESTERDAY_STATUS_FILE")); state == "restoring" || state == "failed" {
			_ = enc.Encode(event{At: time.Now(), Round: round, Kind: "page", State: state, Percent: pct, Banner: banner})
		} else {
			var batch []event
			for _, r := range appReads {
				n := orders
				if r.kind == "table" || r.kind == "routine" {
					n = users
				}
				e := event{At: time.Now(), Round: round, Kind: r.kind, Banner: banner}
				start := time.Now()
				e.Gen, err = read(ctx, conn, fmt.Sprintf(r.query, 1+rand.IntN(max(n, 1))))
				e.Millis = float64(time.Since(start).Microseconds()) / 1000
				if err != nil {
					if ctx.Err() != nil {
						return 0
					}
					e.Err = err.Error()
				}
				batch = append(batch, e)
			}
			// A banner that changed during the round says nothing of
			// what the reads saw.
			if readBanner(os.Getenv("YESTERDAY_SNAPSHOT_FILE")) != banner {
				for i := range batch {
					batch[i].Banner = changing
				}
			}
			for _, e := range batch {
				_ = enc.Encode(e)
			}
		}
		_ = w.Flush()
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
	}
}

// read runs query on a new connection and returns the column
// "generation" of its first row, if it has one.
func read(ctx context.Context, c mariadb.Conn, query string) (string, error) {
	db, err := c.OpenDB(nil, true)
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	gen := ""
	for first := true; rows.Next(); first = false {
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new([]byte)
		}
		if err := rows.Scan(vals...); err != nil {
			return "", err
		}
		for i, c := range cols {
			if first && c == "generation" {
				gen = string(*vals[i].(*[]byte))
			}
		}
	}
	return gen, rows.Err()
}

func readBanner(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// readState returns the status file's state and percent, as the app
// reads them.
func readState(path string) (string, *int) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return "", nil
	}
	var st struct {
		State    string `json:"state"`
		Progress *struct {
			Percent *int `json:"percent"`
		} `json:"progress"`
	}
	if json.Unmarshal(b, &st) != nil {
		return "", nil
	}
	if st.Progress != nil {
		return st.State, st.Progress.Percent
	}
	return st.State, nil
}
