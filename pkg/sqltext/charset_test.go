package sqltext

import (
	"errors"
	"strings"
	"testing"
)

// TestGateSingleByteCharsets covers bytes from 0x80 up outside quotes
// after a dump switched to a character set in which the server may read
// them as blanks: in latin1, 0xA0 is a blank, so "--\xA0" starts a comment
// for the server.
func TestGateSingleByteCharsets(t *testing.T) {
	exploit := "CREATE TABLE \xA0 --\xA0'\nvictim.pwned2 (id INT) -- ';"
	for _, tt := range []struct{ name, set string }{
		{"SET NAMES latin1", "/*!40101 SET NAMES latin1 */;"},
		{"SET CHARACTER SET cp1250", "SET CHARACTER SET cp1250;"},
		{"character_set_client", "SET character_set_client = 'latin2';"},
		{"restored from a saved variable", "SET NAMES latin1;\nSET @saved_cs_client = @@character_set_client;\nSET NAMES utf8mb4;\nSET character_set_client = @saved_cs_client;"},
		{"a variable never saved", "SET character_set_client = @unknown;"},
		{"the server's default", "SET NAMES DEFAULT;"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateAll(t, header+tt.set+"\n"+exploit+"\n", GateOptions{})
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("err = %v, want a refusal", err)
			}
			if !strings.Contains(err.Error(), "0xA0") {
				t.Errorf("the refusal does not name the byte: %v", err)
			}
		})
	}
	// Under utf8mb4 the server reads every byte from 0x80 up as part of a
	// name, as the gate does.
	sts, err := gateAll(t, header+"SET NAMES latin1;\nSET NAMES utf8mb4;\nCREATE TABLE `t\xA0` (`\xA0` INT, b\xC3\xA4 INT) COMMENT '\xA0';\n", GateOptions{})
	if err != nil || len(sts) != 3 {
		t.Fatalf("utf8mb4 after latin1: %v, %d statements", err, len(sts))
	}
	// Under latin1, such bytes are fine inside quotes and comments.
	if _, err := gateAll(t, header+"SET NAMES latin1;\nCREATE TABLE `t\xA0` (a INT /* \xA0 */) COMMENT '\xA0';\nINSERT INTO `t\xA0` VALUES ('\xA0\xFF');\n", GateOptions{}); err != nil {
		t.Errorf("latin1 with high bytes in quotes and comments: %v", err)
	}
}
