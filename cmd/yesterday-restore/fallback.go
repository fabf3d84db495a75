package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/restore"
	"github.com/backupd/backupd/pkg/storage"
)

// withFallbacks returns primary alone when no fallback remote is set,
// else a restore.Fallback reading the primary first and then each
// fallback remote in order. A fallback remote that does not open is only
// logged: the primary may still serve.
func withFallbacks(ctx context.Context, primary *storage.Store, remotes []string, log *slog.Logger) restore.Store {
	var rs []restore.Remote
	for _, r := range remotes {
		r = strings.TrimSpace(r)
		if r == "" || r == primary.String() {
			continue
		}
		s, err := cli.OpenRemote(ctx, r, log)
		if err != nil {
			log.Warn("fallback remote left out", "remote", r, "err", err)
			continue
		}
		rs = append(rs, restore.Remote{Name: s.String(), Store: s})
	}
	if len(rs) == 0 {
		return primary
	}
	log.Debug(fmt.Sprintf("reading backups from %s, then %d fallback remotes", primary, len(rs)))
	return &restore.Fallback{Remotes: append([]restore.Remote{{Name: primary.String(), Store: primary}}, rs...), Log: log}
}
