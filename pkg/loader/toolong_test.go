package loader

import (
	"errors"
	"strings"
	"testing"

	"github.com/backupd/backupd/pkg/sqltext"
)

// A statement over the server's max_allowed_packet names the server
// setting to raise, not just the size.
func TestStatementOverMaxPacketNamesTheSetting(t *testing.T) {
	srv := server{version: sqltext.ServerVersion{}, maxPacket: 1024}
	if v, err := sqltext.ParseServerVersion("10.11.19-MariaDB"); err == nil {
		srv.version = v
	}
	dump := "-- MariaDB dump 10.19\nINSERT INTO `t` VALUES ('" + strings.Repeat("x", 1<<20) + "');\n"
	for _, keep := range []bool{false, true} {
		_, err := srv.gate(strings.NewReader(dump), nil, Rules{}, keep).Next()
		if !errors.Is(err, sqltext.ErrStatementTooLong) {
			t.Fatalf("keep %v: err = %v, want ErrStatementTooLong", keep, err)
		}
		for _, want := range []string{"max_allowed_packet is 1024 bytes", "max_allowed_packet = 1G"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("keep %v: error %q does not say %q", keep, err, want)
			}
		}
	}
}
