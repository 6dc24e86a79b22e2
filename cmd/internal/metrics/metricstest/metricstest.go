// Package metricstest reads what a metrics endpoint serves, for tests:
// it scrapes over HTTP as Prometheus does and parses the text format.
package metricstest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples are the metric families of one scrape, by name.
type Samples map[string]*dto.MetricFamily

// Parse reads the text exposition format.
func Parse(r io.Reader) (Samples, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

// Scrape gets url (an endpoint's /metrics) and parses it; a failure
// fails the test.
func Scrape(t testing.TB, url string) Samples {
	t.Helper()
	s, err := Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Get gets url and parses it.
func Get(url string) (Samples, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return Parse(resp.Body)
}

// Value returns the value of the sample of family name whose labels
// include labels (name, value pairs): a counter's or gauge's value, a
// histogram's count; and false when there is no such sample.
func (s Samples) Value(name string, labels ...string) (float64, bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		if !has(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// Must returns Value's value, 0 when there is no such sample.
func (s Samples) Must(name string, labels ...string) float64 {
	v, _ := s.Value(name, labels...)
	return v
}

func has(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// NotifySocket listens on a unix datagram socket as systemd does for a
// Type=notify service, sets NOTIFY_SOCKET to it for the test (and the
// processes it starts), and returns a function that waits up to 15
// seconds for the next message and returns it.
func NotifySocket(t testing.TB) (next func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	got := make(chan string, 256)
	go func() {
		defer close(got)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	return func() string {
		t.Helper()
		select {
		case m, ok := <-got:
			if !ok {
				t.Fatal("notify socket closed")
			}
			return m
		case <-time.After(15 * time.Second):
			t.Fatal("no notification within 15s")
		}
		return ""
	}
}
