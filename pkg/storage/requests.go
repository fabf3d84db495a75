package storage

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rclone/rclone/fs/fshttp"
)

// requests counts every HTTP request the remotes make, at rclone's
// transport (fshttp.Transport), which every backend's client and the
// Google token source go through: API calls, upload chunks, listing pages,
// token fetches, and every retry of each. A request that got no answer
// (the connection failed) has the code "error".
var requests = prometheus.V2.NewCounterVec(prometheus.CounterVecOpts{
	CounterOpts: prometheus.CounterOpts{
		Namespace: "backupd",
		Name:      "remote_requests_total",
		Help: "HTTP requests to the remotes (Google Drive and its token endpoint, S3), retries included, by host, method " +
			"(the operation: GET lists, reads and downloads; POST creates, starts uploads and fetches tokens; PATCH renames, trashes " +
			"and sets properties on Drive; PUT uploads; DELETE deletes; HEAD reads S3 metadata) and status code (\"error\" when no answer came).",
	},
	VariableLabels: prometheus.ConstrainedLabels{
		{Name: "host"},
		{Name: "method"},
		{Name: "code", Constraint: func(code string) string {
			if code == "0" {
				return "error"
			}
			return code
		}},
	},
})

// rclone gives every transport it creates from now on this counter (see
// fshttp.DefaultMetrics): the package is imported before any remote is
// opened.
func init() { fshttp.DefaultMetrics = &fshttp.Metrics{StatusCode: requests} }

// RequestCounter is the counter of every HTTP request to the remotes, by
// host, method and status code, for a Prometheus registry.
func RequestCounter() prometheus.Collector { return requests }

// Requests returns how many HTTP requests the process has made to the
// remotes so far (see RequestCounter); the difference between two calls is
// what happened in between.
func Requests() int64 {
	ch := make(chan prometheus.Metric, 16)
	go func() {
		requests.Collect(ch)
		close(ch)
	}()
	var n float64
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) == nil {
			n += d.GetCounter().GetValue()
		}
	}
	return int64(n)
}
