package cli

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// dumpLeaks are the RCLONE_DUMP flags that copy HTTP traffic, and with it
// access tokens or backup data, into the log.
var dumpLeaks = []string{"headers", "bodies", "requests", "responses", "auth", "curl"}

// RcloneWarnings returns one message for each RCLONE_* variable in environ
// ("KEY=value" entries, as os.Environ gives) that weakens the security of
// the backups: certificate checks turned off, an extra trusted CA, or HTTP
// traffic dumped into the log. rclone reads these from the process
// environment when it starts, so they apply to every remote.
func RcloneWarnings(environ []string) []string {
	var out []string
	for _, kv := range environ {
		key, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(key, "RCLONE_") || val == "" {
			continue
		}
		switch {
		case strings.HasSuffix(key, "NO_CHECK_CERTIFICATE") || strings.Contains(key, "INSECURE") || strings.HasSuffix(key, "SKIP_VERIFY"):
			if on, err := strconv.ParseBool(val); err == nil && !on {
				continue
			}
			out = append(out, key+"="+val+" turns off TLS certificate checks: anyone on the network path can read the backups and the Google credentials; unset it")
		case key == "RCLONE_DUMP":
			var leaks []string
			for _, f := range strings.Split(strings.ToLower(val), ",") {
				if f = strings.TrimSpace(f); slices.Contains(dumpLeaks, f) {
					leaks = append(leaks, f)
				}
			}
			if len(leaks) == 0 {
				continue
			}
			msg := "RCLONE_DUMP=" + val + " copies HTTP traffic into the log, which can carry backup data"
			if slices.Contains(leaks, "auth") || slices.Contains(leaks, "curl") {
				msg += " and access tokens"
			}
			out = append(out, msg+"; unset it")
		case key == "RCLONE_CA_CERT":
			out = append(out, "RCLONE_CA_CERT="+val+": certificates signed by this CA are trusted for Google too; unset it unless a proxy requires it")
		}
	}
	slices.Sort(out)
	return out
}

// WarnRcloneEnv logs RcloneWarnings.
func WarnRcloneEnv(log *slog.Logger, environ []string) {
	for _, w := range RcloneWarnings(environ) {
		log.Warn("insecure rclone setting", "warning", w)
	}
}

// secretSuffixes end the names of rclone options that hold secrets.
var secretSuffixes = []string{"_SERVICE_ACCOUNT_CREDENTIALS", "_TOKEN", "_CLIENT_SECRET", "_PASS", "_PASSWORD", "_SECRET_ACCESS_KEY"}

// AddRcloneSecrets registers with AddSecret the values of the RCLONE_*
// variables in environ that hold secrets, and the private key and key ID
// inside a service-account JSON key.
func AddRcloneSecrets(environ []string) {
	for _, kv := range environ {
		key, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(key, "RCLONE_") || val == "" {
			continue
		}
		if !slices.ContainsFunc(secretSuffixes, func(s string) bool { return strings.HasSuffix(key, s) }) {
			continue
		}
		AddSecret(val)
		var sa struct {
			KeyID string `json:"private_key_id"`
			Key   string `json:"private_key"`
		}
		if json.Unmarshal([]byte(val), &sa) == nil {
			AddSecret(sa.KeyID)
			AddSecret(sa.Key)
		}
	}
}
