//go:build !nos3

package storage

// rclone's S3 backend: Tigris, AWS and every S3-compatible store. It adds
// about 14 MB to the binary (see docs/storage.md); build with -tags nos3
// to leave it out.
import _ "github.com/rclone/rclone/backend/s3"
