package storage_test

import (
	"context"
	"testing"

	"github.com/backupd/backupd/pkg/storage"
	"github.com/backupd/backupd/pkg/storage/fakedrive"
	"github.com/backupd/backupd/pkg/storage/storagetest"
)

func TestConformanceLocal(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) *storage.Store {
		s, err := storage.Open(context.Background(), t.TempDir()+"/backups", nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) *storage.Store {
		s, err := storage.Open(context.Background(), ":memory:"+t.Name(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceDrive(t *testing.T) {
	p := fakedrive.NewProduction(t)
	p.Setenv(t)
	ctx := p.Context(context.Background())
	storagetest.Run(t, func(t *testing.T) *storage.Store {
		folder := p.NewFolder(p.DriveID, t.Name())
		s, err := storage.Open(ctx, storage.DriveRemote("gdrive", folder), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
