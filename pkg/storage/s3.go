package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/config/configmap"
	"github.com/rclone/rclone/fs/fspath"
)

// TigrisRemoteName is the remote name the S3 shortcut answers to: with
// AWS_ENDPOINT, AWS_BUCKET and the keys set (as Fly sets them for a Tigris
// bucket) and no rclone remote of that name configured, "tigris:" and
// "tigris:path" open the bucket without any RCLONE_CONFIG_* setting.
const TigrisRemoteName = "tigris"

// The variables S3FromEnv reads: the names Fly gives a Tigris bucket's
// settings (and that AWS tools read).
const (
	EnvS3Endpoint  = "AWS_ENDPOINT"
	EnvS3Bucket    = "AWS_BUCKET"
	EnvS3Region    = "AWS_REGION"
	EnvS3KeyID     = "AWS_ACCESS_KEY_ID"
	EnvS3SecretKey = "AWS_SECRET_ACCESS_KEY"
)

// S3Settings configure rclone's s3 backend programmatically, for the
// shortcut remote Name. The keys are secrets: String leaves them out, and
// they reach rclone only through a configuration map, never a remote
// string (which rclone puts in names and messages) or the environment.
type S3Settings struct {
	Name            string // the remote name that selects these settings
	Endpoint        string // e.g. https://fly.storage.tigris.dev
	Region          string // "auto" when unset
	Bucket          string
	AccessKeyID     string
	SecretAccessKey string
}

// String describes the settings without the keys.
func (s S3Settings) String() string {
	return fmt.Sprintf("s3 remote %s: endpoint %s, bucket %s, region %s", s.Name, s.Endpoint, s.Bucket, s.region())
}

func (s S3Settings) region() string {
	if s.Region == "" {
		return "auto"
	}
	return s.Region
}

// S3FromEnv reads the shortcut's settings from the AWS_* variables
// through getenv. ok is false when AWS_BUCKET is unset (there is no
// shortcut); a shortcut with a missing endpoint or key is returned with
// ok true and fails Check.
func S3FromEnv(getenv func(string) string) (s S3Settings, ok bool) {
	s = S3Settings{
		Name:            TigrisRemoteName,
		Endpoint:        strings.TrimSpace(getenv(EnvS3Endpoint)),
		Region:          strings.TrimSpace(getenv(EnvS3Region)),
		Bucket:          strings.TrimSpace(getenv(EnvS3Bucket)),
		AccessKeyID:     getenv(EnvS3KeyID),
		SecretAccessKey: getenv(EnvS3SecretKey),
	}
	return s, s.Bucket != ""
}

// Check names the settings that are missing.
func (s S3Settings) Check() error {
	var missing []string
	for _, v := range []struct{ name, val string }{
		{EnvS3Endpoint, s.Endpoint}, {EnvS3Bucket, s.Bucket},
		{EnvS3KeyID, s.AccessKeyID}, {EnvS3SecretKey, s.SecretAccessKey},
	} {
		if v.val == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("remote %s: set %s (or configure the remote through RCLONE_CONFIG_%s_*)",
			s.Name, strings.Join(missing, ", "), strings.ToUpper(s.Name))
	}
	return nil
}

// WithS3 makes Open answer remotes named s.Name with rclone's s3 backend
// configured from s, unless rclone has a remote of that name configured
// (RCLONE_CONFIG_<NAME>_TYPE or a config file section), which wins.
func WithS3(s S3Settings) OpenOption {
	return func(c *openConfig) { c.s3 = &s }
}

// s3Shortcut reports whether remote names the shortcut of c and rclone
// has no remote of that name.
func (c *openConfig) s3Shortcut(remote string) (path string, ok bool) {
	if c.s3 == nil {
		return "", false
	}
	p, err := fspath.Parse(remote)
	if err != nil || p.Name != c.s3.Name || len(p.Config) > 0 {
		return "", false
	}
	if os.Getenv(fs.ConfigToEnv(p.Name, "type")) != "" || fs.ConfigFileHasSection(p.Name) {
		return "", false
	}
	return p.Path, true
}

// openS3 opens the bucket of s (and path inside it) with rclone's s3
// backend, provider Other: rclone has no Tigris provider, and Tigris
// answers as a plain S3 endpoint. The bucket must exist already
// (no_check_bucket): an app's keys may not create buckets.
func openS3(ctx context.Context, s S3Settings, path string) (fs.Fs, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	info, err := fs.Find("s3")
	if err != nil {
		return nil, fmt.Errorf("remote %s: this build has no s3 backend (built with the nos3 tag)", s.Name)
	}
	m := configmap.Simple{
		"provider":          "Other",
		"env_auth":          "false",
		"endpoint":          s.Endpoint,
		"region":            s.region(),
		"access_key_id":     s.AccessKeyID,
		"secret_access_key": s.SecretAccessKey,
		"no_check_bucket":   "true",
	}
	root := strings.Trim(s.Bucket+"/"+strings.Trim(path, "/"), "/")
	f, err := info.NewFs(ctx, s.Name, root, fs.ConfigMap(info.Prefix, info.Options, s.Name, m))
	if errors.Is(err, fs.ErrorIsFile) {
		return nil, fmt.Errorf("open remote %s:%s: it is a file, not a folder", s.Name, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open remote %s:%s (%s): %w", s.Name, path, s, err)
	}
	return f, nil
}
