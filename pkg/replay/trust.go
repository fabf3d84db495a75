package replay

import (
	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/recovery"
	"github.com/backupd/backupd/pkg/seal"
)

// RequiresSignature says whether a recovery refuses backups and segments
// without a valid signature: when require is set, and whenever a verify
// key is given unless allowUnsigned (anyone who can write to the remote
// can add an unsigned file under any name).
func RequiresSignature(keys []seal.VerifyKey, require, allowUnsigned bool) bool {
	return require || len(keys) > 0 && !allowUnsigned
}

// Usable returns, of the backups and segments a remote lists, those a
// recovery with keys may plan with: those whose signature seal.Problem
// accepts (require as RequiresSignature says). The others are returned as
// passed backups and ignored segments, with the reason. A plan made from
// what is usable cannot be steered by a file the keys do not vouch for.
func Usable(backups []catalog.Backup, segs []binlog.Segment, keys []seal.VerifyKey, require bool) ([]catalog.Backup, []binlog.Segment, []recovery.Passed, []binlog.IgnoredSegment) {
	var okB []catalog.Backup
	var passed []recovery.Passed
	for _, b := range backups {
		if err := seal.Problem(b, keys, require); err != nil {
			passed = append(passed, recovery.Passed{Backup: b, Reason: "its signature: " + err.Error()})
			continue
		}
		okB = append(okB, b)
	}
	var okS []binlog.Segment
	var ignored []binlog.IgnoredSegment
	for _, s := range segs {
		if err := seal.Problem(s.Backup(), keys, require); err != nil {
			ignored = append(ignored, binlog.IgnoredSegment{Segment: s, Reason: "its signature: " + err.Error()})
			continue
		}
		okS = append(okS, s)
	}
	return okB, okS, passed, ignored
}
