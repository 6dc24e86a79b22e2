package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Heartbeat is how often a live stream with nothing to tell sends a
// comment, so that a screen (and whatever sits between) sees it alive.
const Heartbeat = 20 * time.Second

// writeWait is how long one event may take to reach a screen; a screen
// that does not read is cut off after it.
const writeWait = 10 * time.Second

// events is the live stream (server-sent events). ?station=ID follows one
// station: each change sends the station's live part, drawn for the
// user, as a "station" event, the first at once. Without it every
// station's movements are told as "movement" events (their station's id
// alone), for the warehouse's screen to reload itself.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	station := r.URL.Query().Get("station")
	need := PermWarehouse
	if station != "" {
		need = PermStation
		if _, ok := s.core.Station(station); !ok {
			http.NotFound(w, r)
			return
		}
	}
	if !p.Role.May(need) {
		http.Error(w, fmt.Sprintf("%s (role %s) may not %s", p.Name, p.Role, need), http.StatusForbidden)
		return
	}
	c, ok := s.broker.subscribe(station)
	if !ok {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "too many live screens", http.StatusServiceUnavailable)
		return
	}
	defer s.broker.unsubscribe(c)
	d := s.data(w, r, station)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(name string, data []byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
			return err
		}
		var b bytes.Buffer
		if name != "" {
			fmt.Fprintf(&b, "event: %s\n", name)
		}
		for _, line := range strings.Split(strings.ReplaceAll(string(data), "\r", ""), "\n") {
			fmt.Fprintf(&b, "data: %s\n", line)
		}
		b.WriteByte('\n')
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
		return rc.Flush()
	}
	drawn := func() error {
		if station == "" {
			return nil
		}
		b, err := s.live(r.Context(), d, station)
		if err != nil {
			return err
		}
		return send("station", b)
	}
	// A screen that reconnects is sent the whole state first: it may
	// have missed events meanwhile.
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	if err := drawn(); err != nil {
		s.log.Debug("live stream ended", "err", err)
		return
	}
	beat := time.NewTicker(Heartbeat)
	defer beat.Stop()
	for {
		select {
		case ev := <-c.ch:
			// Draw once for what has queued up meanwhile.
			stations := map[string]bool{ev.station: true}
		drain:
			for {
				select {
				case ev := <-c.ch:
					stations[ev.station] = true
				default:
					break drain
				}
			}
			var err error
			if station != "" {
				err = drawn()
			} else {
				for st := range stations {
					if err = send("movement", []byte(st)); err != nil {
						break
					}
				}
			}
			if err != nil {
				s.log.Debug("live stream ended", "err", err)
				return
			}
		case <-beat.C:
			if err := rc.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
				return
			}
			if _, err := w.Write([]byte(": alive\n\n")); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		case <-c.gone:
			// Fell behind: the screen reconnects and is drawn afresh.
			return
		case <-r.Context().Done():
			return
		}
	}
}
