// Package notifytest holds the receiving ends that notification tests send
// to, all on loopback: a webhook that records what is POSTed (for
// shoutrrr's generic service) and a minimal SMTP server that records the
// mails it is given.
package notifytest

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Message is one received notification.
type Message struct {
	Title string // the e-mail subject, or the webhook's "title"
	Body  string
}

// Webhook records the bodies POSTed to it. Fail makes it answer 500.
type Webhook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []Message
	fail bool
}

// NewWebhook starts a webhook on loopback, closed when the test ends.
func NewWebhook(t testing.TB) *Webhook {
	w := &Webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.fail {
			http.Error(rw, "down", http.StatusInternalServerError)
			return
		}
		var m struct{ Title, Message string }
		if err := json.Unmarshal(b, &m); err != nil {
			http.Error(rw, "want JSON", http.StatusBadRequest)
			return
		}
		w.msgs = append(w.msgs, Message{Title: m.Title, Body: m.Message})
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// URL is the shoutrrr URL of the webhook: the generic service over plain
// HTTP, posting JSON with "title" and "message".
func (w *Webhook) URL() string {
	return "generic+" + w.srv.URL + "/hook?template=json"
}

// SetFail makes the webhook refuse (500) or accept messages.
func (w *Webhook) SetFail(fail bool) {
	w.mu.Lock()
	w.fail = fail
	w.mu.Unlock()
}

// Messages returns what the webhook accepted, in order.
func (w *Webhook) Messages() []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Message(nil), w.msgs...)
}

// SMTP is a minimal SMTP server: it accepts any sender and recipient,
// without TLS or authentication, and records the subject and body of
// each mail.
type SMTP struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	wg   sync.WaitGroup
}

// NewSMTP starts the server on loopback, closed when the test ends.
func NewSMTP(t testing.TB) *SMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTP{ln: ln}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// URL is the shoutrrr URL that sends to the server from a@example.com to
// b@example.com.
func (s *SMTP) URL() string {
	return "smtp://" + s.ln.Addr().String() + "/?from=a@example.com&to=b@example.com&auth=None&encryption=None&usestarttls=no"
}

// Messages returns the mails received, in order.
func (s *SMTP) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *SMTP) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.session(c)
		}()
	}
}

func (s *SMTP) session(c net.Conn) {
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
	say("220 localhost ESMTP notifytest")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO":
			say("250-localhost")
			say("250 8BITMIME")
		case "DATA":
			say("354 end with <CRLF>.<CRLF>")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, parseMail(data.String()))
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		case "RSET", "NOOP", "HELO", "MAIL", "RCPT":
			say("250 ok")
		default:
			say("502 not implemented")
		}
	}
}

// parseMail takes the subject from the headers and the rest as the body,
// with line ends as "\n".
func parseMail(data string) Message {
	data = strings.ReplaceAll(data, "\r\n", "\n")
	head, body, _ := strings.Cut(data, "\n\n")
	var m Message
	for _, h := range strings.Split(head, "\n") {
		if v, ok := strings.CutPrefix(h, "Subject: "); ok {
			m.Title = v
		}
	}
	m.Body = strings.TrimRight(body, "\n")
	return m
}
