package fakedrive

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	drive "google.golang.org/api/drive/v3"
)

func TestQuery(t *testing.T) {
	s := &Server{drives: map[string]*sharedDrive{}}
	file := &entry{f: &drive.File{Name: "Db-Backup.sql.zst", MimeType: "application/zstd", Parents: []string{"P1"},
		ModifiedTime: "2025-01-02T03:04:05.000Z", Properties: map[string]string{"k": "v"}}}
	folder := &entry{f: &drive.File{Name: "sub", MimeType: FolderMimeType, Parents: []string{"P1"}, Trashed: true}}
	cases := []struct {
		q          string
		file, fold bool
	}{
		// What rclone sends to find a file, and a folder.
		{`trashed=false and ('P1' in parents) and (name='db-backup.sql.zst') and mimeType!='application/vnd.google-apps.folder'`, true, false},
		{`trashed=true and ('P1' in parents) and (name='sub') and (mimeType='application/vnd.google-apps.folder' or mimeType='application/vnd.google-apps.shortcut')`, false, true},
		{`('P2' in parents or 'P1' in parents)`, true, true},
		{`not trashed = true`, true, false},
		{`name contains 'backup'`, true, false},
		{`name = 'it\'s'`, false, false},
		{`modifiedTime >= '2025-01-02T03:04:05' and modifiedTime < '2025-01-03T00:00:00'`, true, false},
		{`properties has { key='k' and value='v' }`, true, false},
		{`starred = false and sharedWithMe = false`, true, true},
	}
	for _, tc := range cases {
		q, err := parseQuery(tc.q)
		if err != nil {
			t.Errorf("parseQuery(%q): %v", tc.q, err)
			continue
		}
		if got := q.eval(s, file); got != tc.file {
			t.Errorf("%q on the file = %v, want %v", tc.q, got, tc.file)
		}
		if got := q.eval(s, folder); got != tc.fold {
			t.Errorf("%q on the folder = %v, want %v", tc.q, got, tc.fold)
		}
	}
	for _, bad := range []string{`fullText contains 'x'`, `name = `, `(trashed=false`, `'x' in owners`, `name ~ 'x'`, `trashed = 'yes'`} {
		if _, err := parseQuery(bad); err == nil {
			t.Errorf("parseQuery(%q) accepted an unsupported query", bad)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in                 string
		first, last, total int64
		bad                bool
	}{
		{in: "bytes 0-262143/*", first: 0, last: 262143, total: -1},
		{in: "bytes 262144-300000/300001", first: 262144, last: 300000, total: 300001},
		{in: "bytes */524288", first: -1, last: -1, total: 524288},
		{in: "bytes 5-4/*", bad: true},
		{in: "0-1/2", bad: true},
	}
	for _, tc := range cases {
		first, last, total, err := parseContentRange(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseContentRange(%q) accepted it", tc.in)
			}
			continue
		}
		if err != nil || first != tc.first || last != tc.last || total != tc.total {
			t.Errorf("parseContentRange(%q) = %d, %d, %d, %v", tc.in, first, last, total, err)
		}
	}
}

// TestServerRefuses checks the fake's guards: no token, no plain HTTP
// proxying, no unknown hosts.
func TestServerRefuses(t *testing.T) {
	s := New(t)
	proxy, _ := url.Parse(s.ProxyURL())
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	res, err := client.Get("http://www.googleapis.com/drive/v3/files")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("plain HTTP through the proxy: %s, want 405", res.Status)
	}

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://www.googleapis.com/drive/v3/files", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("files.list without a token: %d, want 401", rec.Code)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://example.com/drive/v3/files", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "example.com") {
		t.Errorf("unknown host: %d %s, want 404 naming the host", rec.Code, rec.Body.String())
	}
	if got := s.Count(OpFilesList); got != 2 {
		t.Errorf("Count(files.list) = %d, want 2", got)
	}
}
