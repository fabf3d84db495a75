// Package pairing holds the tests that run backupd and yesterday-restore,
// built from this tree, across the dump tools, source servers and restore
// servers that production and the matrix name (internal/testdb.Products):
// a backup taken by backupd now over TCP at a non-local address, as on
// Fly's private network, then restored by the documented account with both
// loaders, compared with the source and with the stock client's load.
// It has no code of its own outside its tests.
package pairing
