package stream

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/binlog"
)

// ServerSource reads a server's binary log over the replication protocol
// (github.com/go-mysql-org/go-mysql's client, which speaks it to MySQL and
// MariaDB alike), with the account and TLS mode of Conn.
type ServerSource struct {
	Conn mariadb.Conn
	// ReplicaID is the server id this replica registers with; it must
	// differ from the server's and from every other replica's (a second
	// connection with the same id takes the first one's place).
	ReplicaID uint32
	// Heartbeat is how often the server is asked to send a heartbeat
	// when it has nothing else to send.
	Heartbeat time.Duration
	Log       *slog.Logger
}

var _ Source = ServerSource{}

// ReplicaID derives a replica server id from a host name: the same for a
// machine across restarts, different between machines (FNV-1a, in
// 1,000,000 to 2,000,000,000, clear of the small ids servers are given).
func ReplicaID(host string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(host))
	return 1_000_000 + h.Sum32()%1_999_000_000
}

// Binlog asks the server about its binary log.
func (s ServerSource) Binlog(ctx context.Context) (mariadb.BinlogSource, error) {
	return s.Conn.Binlog(ctx, s.Log)
}

// Open starts a replication connection at pos.
func (s ServerSource) Open(ctx context.Context, pos binlog.Pos) (Events, error) {
	src, err := s.Conn.Binlog(ctx, s.Log)
	if err != nil {
		return nil, err
	}
	cfg := replication.BinlogSyncerConfig{
		ServerID:         s.ReplicaID,
		Flavor:           gomysql.MySQLFlavor,
		User:             s.Conn.User,
		Password:         s.Conn.Password,
		RawModeEnabled:   true,
		HeartbeatPeriod:  s.Heartbeat,
		DisableRetrySync: true,
		EventCacheCount:  16,
		Logger:           slog.New(slog.DiscardHandler),
	}
	if src.MariaDB {
		cfg.Flavor = gomysql.MariaDBFlavor
		// Every event of the file, the annotations of row changes too,
		// so that positions follow on.
		cfg.DumpCommandFlag = replication.BINLOG_SEND_ANNOTATE_ROWS_EVENT
	}
	network, addr := s.Conn.Addr()
	if network == "unix" {
		cfg.Host = addr
		cfg.Dialer = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", addr)
		}
	} else {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		cfg.Host, cfg.Port = host, uint16(p)
	}
	tlsCfg, fallback, err := s.Conn.ReplicaTLS()
	if err != nil {
		return nil, err
	}
	cfg.TLSConfig = tlsCfg
	ev, err := start(cfg, pos)
	if err != nil && fallback && strings.Contains(err.Error(), "does not support TLS") {
		// DB_TLS=prefer against a server without TLS.
		cfg.TLSConfig = nil
		ev, err = start(cfg, pos)
	}
	return ev, err
}

func start(cfg replication.BinlogSyncerConfig, pos binlog.Pos) (Events, error) {
	sy := replication.NewBinlogSyncer(cfg)
	st, err := sy.StartSync(gomysql.Position{Name: pos.File, Pos: uint32(pos.Offset)})
	if err != nil {
		sy.Close()
		return nil, fmt.Errorf("start replication at %s: %w", pos, classify(err))
	}
	return &syncerEvents{sy: sy, st: st}, nil
}

type syncerEvents struct {
	sy *replication.BinlogSyncer
	st *replication.BinlogStreamer
}

func (e *syncerEvents) Next(ctx context.Context) ([]byte, error) {
	ev, err := e.st.GetEvent(ctx)
	if err != nil {
		return nil, classify(err)
	}
	return ev.RawData, nil
}

func (e *syncerEvents) Close() { e.sy.Close() }

// Server errors that mean the position asked for is gone: MySQL's
// ER_SOURCE_FATAL_ERROR_READING_BINLOG (1236) says "Could not find first
// log file name in binary log index file", a purged GTID, or a position
// past the file's end.
const errFatalReadingBinlog = 1236

func classify(err error) error {
	var me *gomysql.MyError
	if errors.As(err, &me) && me.Code == errFatalReadingBinlog {
		return fmt.Errorf("%w: %v", ErrPurged, err)
	}
	if strings.Contains(err.Error(), "ERROR 1236") || strings.Contains(err.Error(), "Error 1236") {
		return fmt.Errorf("%w: %v", ErrPurged, err)
	}
	return err
}
