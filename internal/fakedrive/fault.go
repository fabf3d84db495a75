package fakedrive

import (
	"net/http"
	"sync/atomic"
)

// Operations, as Call.Op names them.
const (
	OpToken           = "token"            // POST token_uri
	OpFilesList       = "files.list"       // GET /drive/v3/files
	OpFilesGet        = "files.get"        // GET /drive/v3/files/{id}
	OpDownload        = "files.get.media"  // GET /drive/v3/files/{id}?alt=media
	OpFilesCreate     = "files.create"     // POST /drive/v3/files (metadata only)
	OpFilesUpdate     = "files.update"     // PATCH /drive/v3/files/{id}
	OpFilesDelete     = "files.delete"     // DELETE /drive/v3/files/{id}
	OpUploadMultipart = "upload.multipart" // one-request upload (create or update)
	OpUploadStart     = "upload.start"     // opens a resumable upload session
	OpUploadChunk     = "upload.chunk"     // one request of a resumable session
	OpDrivesGet       = "drives.get"       // GET /drive/v3/drives/{id}
	OpAboutGet        = "about.get"        // GET /drive/v3/about
	OpUnknown         = "unknown"          // anything else: answered 404
)

// Call describes one request as the fault hook sees it.
type Call struct {
	Op string
	// N counts the requests of this Op, from 1, faulted ones included.
	N int
	// Chunk counts the requests made to one resumable upload session,
	// from 1, retries included; 0 for other operations.
	Chunk int
	// Name is the file name, when the request carries one (uploads).
	Name string
	// FileID is the file or drive ID in the request path, if any.
	FileID  string
	Request *http.Request
}

// Fault replaces the handling of one request.
type Fault struct {
	// Status and Reason make a Google JSON error response, for example
	// 503 "backendError" or 403 "userRateLimitExceeded".
	Status  int
	Reason  string
	Message string
	// Drop closes the connection without any response; the request is
	// not handled (for an upload chunk, the server keeps nothing).
	Drop bool
	// DropAfter handles the request, then closes the connection instead
	// of sending the response: the server changed state, the client
	// cannot know.
	DropAfter bool
}

// ServerError is a 5xx error, which Google asks clients to retry.
func ServerError(status int) *Fault {
	return &Fault{Status: status, Reason: "backendError", Message: "Backend Error"}
}

// RateLimited is Google's 403 for too many requests, which clients retry.
func RateLimited() *Fault {
	return &Fault{Status: http.StatusForbidden, Reason: "userRateLimitExceeded",
		Message: "User Rate Limit Exceeded. Rate of requests for user exceed configured project quota."}
}

// UploadLimit is Google's answer once an account has uploaded 750 GB in a
// day: a 403 with the same reason as RateLimited but its own message,
// which is all that tells the two apart (rclone's stop_on_upload_limit
// compares it). Uploads resume after up to a day.
func UploadLimit() *Fault {
	return &Fault{Status: http.StatusForbidden, Reason: "userRateLimitExceeded", Message: "User rate limit exceeded."}
}

// ItemLimit is a Shared Drive's answer to a new file once it holds the
// most items Google allows (trashed items count).
func ItemLimit() *Fault {
	return &Fault{Status: http.StatusForbidden, Reason: "teamDriveFileLimitExceeded",
		Message: "The file limit for this shared drive has been exceeded."}
}

// StorageQuota is the answer to an upload when the storage it counts
// against (the organisation's, for a Shared Drive) is full.
func StorageQuota() *Fault {
	return &Fault{Status: http.StatusForbidden, Reason: "storageQuotaExceeded",
		Message: "The user's Drive storage quota has been exceeded."}
}

// BadRequest is a permanent 400 error.
func BadRequest(msg string) *Fault {
	return &Fault{Status: http.StatusBadRequest, Reason: "badRequest", Message: msg}
}

// DropConnection closes the connection without a response.
func DropConnection() *Fault { return &Fault{Drop: true} }

// Times returns a hook that injects f into the first n calls for which
// match reports true, and leaves every other call alone.
func Times(n int, match func(Call) bool, f *Fault) func(Call) *Fault {
	var left atomic.Int64
	left.Store(int64(n))
	return func(c Call) *Fault {
		if !match(c) {
			return nil
		}
		if left.Add(-1) < 0 {
			return nil
		}
		return f
	}
}

// Chunk matches the n-th request of any resumable upload session.
func Chunk(n int) func(Call) bool {
	return func(c Call) bool { return c.Op == OpUploadChunk && c.Chunk == n }
}

// Op matches every request of the operation.
func Op(op string) func(Call) bool {
	return func(c Call) bool { return c.Op == op }
}
