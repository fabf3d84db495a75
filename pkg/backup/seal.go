package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/backupd/backupd/internal/count"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/seal"
)

// Seal is how a job encrypts and signs the backups it publishes (see
// pkg/seal). The zero value publishes plain, unsigned backups.
type Seal struct {
	// Recipients, when set, put the zstd stream in an age envelope to
	// them, as it is written (no temporary file); the backup's name ends
	// in .sql.zst.age.
	Recipients []age.Recipient
	// SignKey, when set, signs every backup: the signature of its name,
	// the sha256 and size of its stored bytes, its SQL size and format
	// version is stamped on with the rest of its metadata.
	SignKey *seal.SigningKey
}

// format is the format of the backups the seal makes.
func (s Seal) format() catalog.Format {
	if len(s.Recipients) > 0 {
		return catalog.ZstdAge
	}
	return catalog.Zstd
}

// writer returns where the dump is to write its zstd stream to reach w,
// and finish, which ends the envelope after a good dump and puts the
// stored bytes' figures into res. Without recipients it is w itself, and
// the dump's own figures stand.
func (s Seal) writer(w io.Writer) (io.Writer, func(res *dump.Result) error, error) {
	if len(s.Recipients) == 0 {
		return w, func(*dump.Result) error { return nil }, nil
	}
	sum := sha256.New()
	out := count.NewWriter(io.MultiWriter(w, sum), nil)
	enc, err := seal.Encrypt(out, s.Recipients)
	if err != nil {
		return nil, nil, err
	}
	finish := func(res *dump.Result) error {
		if err := enc.Close(); err != nil {
			return fmt.Errorf("finish age envelope: %w", err)
		}
		res.StoredBytes = out.N.Load()
		res.SHA256 = hex.EncodeToString(sum.Sum(nil))
		return nil
	}
	return enc, finish, nil
}

// sign stamps the signature of the backup name, as res describes it, on
// meta; it does nothing without a key.
func (s Seal) sign(name string, res dump.Result, meta map[string]string) {
	if s.SignKey == nil {
		return
	}
	st := seal.Statement{
		Name: name, SHA256: res.SHA256, Size: res.StoredBytes, RawSize: res.RawBytes, Version: meta[catalog.MetaVersion],
	}
	if meta[catalog.MetaBinlog] != "" {
		st.Binlog = [3]string{meta[catalog.MetaBinlog], meta[catalog.MetaBinlogServer], meta[catalog.MetaBinlogAt]}
	}
	meta[catalog.MetaSignature] = s.SignKey.Sign(st)
}
