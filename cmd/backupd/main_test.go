package main

import (
	"os"
	"testing"

	"github.com/backupd/backupd/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }
