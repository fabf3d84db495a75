package yesterdayboot

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// result is what the app saw during one boot, and the restore's timing
// from its log.
type result struct {
	name             string
	rounds, pages    int
	percents         []int
	reads, failed    int
	errs             []string
	longest          time.Duration
	longestKind      string
	longestAt        time.Duration // since the boot
	duringSwap       time.Duration // the longest read that overlapped the swap
	usable           time.Duration // boot to the first round whose three reads succeeded
	swapFrom, swapTo time.Duration // since the boot, from the restore's log
	restored         time.Duration // boot to the restore's "restored"
	serverUp         time.Duration // boot to the server's first answer
	appStart         time.Duration // boot to the app's start
	firstBanner      string
	lastBanner       string
	noBanner         int // read rounds without a banner
	bannerLies       []string
	gens             []string // the view's generations, in the order first seen
	rss              int64
	diskPeak         int64
	diskEnd          int64
}

// analyse reads the app's events and the machine's output of the boot.
func (b *boot) analyse() result {
	t := b.m.t
	t.Helper()
	r := result{name: b.name, rss: b.rss, diskPeak: b.diskPeak.Load(), diskEnd: b.diskEnd.Load()}
	f, err := os.Open(b.events)
	if err != nil {
		t.Fatalf("%s: the app left no events: %v", b.name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	rounds := map[int]int{} // round -> successful reads
	type span struct{ from, to time.Duration }
	var reads []span
	seenGen := map[string]bool{}
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: app event %q: %v", b.name, sc.Text(), err)
		}
		since := e.At.Sub(b.start)
		if e.Kind == "page" {
			r.pages++
			if e.Percent != nil && (len(r.percents) == 0 || r.percents[len(r.percents)-1] != *e.Percent) {
				r.percents = append(r.percents, *e.Percent)
			}
			continue
		}
		r.reads++
		d := time.Duration(e.Millis * float64(time.Millisecond))
		reads = append(reads, span{since, since + d})
		if d > r.longest {
			r.longest, r.longestKind, r.longestAt = d, e.Kind, since
		}
		if e.Err != "" {
			r.failed++
			if len(r.errs) < 5 {
				r.errs = append(r.errs, fmt.Sprintf("+%.1fs %s: %s", since.Seconds(), e.Kind, e.Err))
			}
			continue
		}
		rounds[e.Round]++
		if rounds[e.Round] == len(appReads) && r.usable == 0 {
			r.usable = since
		}
		if e.Banner != changing {
			if r.firstBanner == "" && r.lastBanner == "" && r.noBanner == 0 {
				r.firstBanner = e.Banner
			}
			r.lastBanner = e.Banner
			if e.Banner == "" && e.Kind == "table" {
				r.noBanner++
			}
		}
		if e.Kind == "view" {
			if !seenGen[e.Gen] {
				seenGen[e.Gen] = true
				r.gens = append(r.gens, e.Gen)
			}
			// The banner must never name a snapshot the reads do not see.
			if _, data, ok := strings.Cut(e.Gen, "/"); ok && e.Banner != "" && e.Banner != changing && e.Banner != banner(atoi(data)) {
				r.bannerLies = append(r.bannerLies, fmt.Sprintf("+%.1fs banner %q, data of day %s", since.Seconds(), e.Banner, data))
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	r.rounds = len(rounds) + r.pages
	for _, line := range strings.Split(b.output(), "\n") {
		if at, msg, ok := strings.Cut(line, " yesterday-start: "); ok {
			when, err := time.Parse(time.RFC3339Nano, at)
			switch {
			case err != nil:
			case strings.HasPrefix(msg, "the database server is up"):
				r.serverUp = when.Sub(b.start)
			case strings.HasPrefix(msg, "started the restore"):
				r.appStart = when.Sub(b.start)
			}
			continue
		}
		if !strings.HasPrefix(line, `{"time":`) {
			continue
		}
		var l struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		switch l.Msg {
		case "swapping in the restored database":
			r.swapFrom = l.Time.Sub(b.start)
		case "restored":
			r.swapTo = l.Time.Sub(b.start)
			r.restored = r.swapTo
		}
	}
	if r.swapFrom > 0 {
		for _, sp := range reads {
			if sp.from <= r.swapTo && sp.to >= r.swapFrom && sp.to-sp.from > r.duringSwap {
				r.duringSwap = sp.to - sp.from
			}
		}
	}
	return r
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// expectation is what a boot must have shown; "" leaves a banner or a
// generation unchecked.
type expectation struct {
	restored                bool // a restore was swapped in
	pages                   bool // the app showed the restoring page (no snapshot); else never
	firstBanner, lastBanner string
	firstGen, lastGen       string // the view's "definition/data" generations
}

func (r result) expect(t *testing.T, e expectation) {
	t.Helper()
	if r.failed > 0 {
		t.Errorf("%s: %d of %d reads failed: %s", r.name, r.failed, r.reads, strings.Join(r.errs, "; "))
	}
	if r.reads == 0 {
		t.Errorf("%s: the app read nothing", r.name)
	}
	if e.pages && r.pages == 0 {
		t.Errorf("%s: the app never showed the restoring page", r.name)
	}
	if !e.pages && r.pages > 0 {
		t.Errorf("%s: the app showed the restoring page %d times with a snapshot to serve", r.name, r.pages)
	}
	if e.restored && r.restored == 0 {
		t.Errorf("%s: no restore was swapped in", r.name)
	}
	for _, l := range r.bannerLies {
		t.Errorf("%s: %s", r.name, l)
	}
	check := func(what, got, want string) {
		if want != "" && got != want {
			t.Errorf("%s: %s %q, want %q", r.name, what, got, want)
		}
	}
	check("first banner", r.firstBanner, e.firstBanner)
	check("last banner", r.lastBanner, e.lastBanner)
	if len(r.gens) > 0 {
		check("first generation read", r.gens[0], e.firstGen)
		check("last generation read", r.gens[len(r.gens)-1], e.lastGen)
	} else if e.firstGen != "" {
		t.Errorf("%s: the view was never read", r.name)
	}
}

// report prints the results as a table, and writes it to $BOOT_REPORT.
func report(t *testing.T, results []result) {
	t.Helper()
	var b strings.Builder
	cpu := os.Getenv("BOOT_CPU")
	switch cpu {
	case "":
		cpu = "CPU 0"
	case "all":
		cpu = "all CPUs"
	default:
		cpu = "CPU " + cpu
	}
	fmt.Fprintf(&b, "yesterday machine, bench data of %d rows, on %s; times since the machine's start;\n"+
		"swap: from the restore's \"swapping in\" to its \"restored\", and the longest read that overlapped it\n", rows(), cpu)
	fmt.Fprintf(&b, "%-40s %7s %6s %6s %6s %-22s %8s %9s %-26s %9s %9s %s\n",
		"boot", "up/app", "reads", "failed", "pages", "longest read", "usable", "restored", "swap s (ms; read)", "no banner", "mariadbd", "datadir peak/end")
	for _, r := range results {
		longest, restored, swap := "-", "-", "-"
		if r.reads > 0 {
			longest = fmt.Sprintf("%.0f ms %s +%.1fs", float64(r.longest.Microseconds())/1000, r.longestKind, r.longestAt.Seconds())
		}
		if r.restored > 0 {
			restored = fmt.Sprintf("%.1f s", r.restored.Seconds())
		}
		if r.swapFrom > 0 && r.swapTo > r.swapFrom {
			swap = fmt.Sprintf("%.1f-%.1f (%.0f ms; %.0f)", r.swapFrom.Seconds(), r.swapTo.Seconds(),
				float64((r.swapTo-r.swapFrom).Microseconds())/1000, float64(r.duringSwap.Microseconds())/1000)
		}
		fmt.Fprintf(&b, "%-40s %3.1f/%3.1f %6d %6d %6d %-22s %6.1f s %9s %-26s %9d %5d MiB %d/%d MiB\n",
			r.name, r.serverUp.Seconds(), r.appStart.Seconds(), r.reads, r.failed, r.pages, longest, r.usable.Seconds(), restored, swap,
			r.noBanner, r.rss/1024, r.diskPeak>>20, r.diskEnd>>20)
	}
	for _, r := range results {
		if len(r.percents) > 0 {
			fmt.Fprintf(&b, "%s: the restoring page showed %s%%\n", r.name, joinInts(r.percents))
		}
		fmt.Fprintf(&b, "%s: the view read generations %s (definition/data)\n", r.name, strings.Join(r.gens, ", "))
	}
	t.Log("\n" + b.String())
	if path := os.Getenv("BOOT_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func joinInts(l []int) string {
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " ")
}
