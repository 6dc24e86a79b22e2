package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/uplink"
)

// The control socket is a unix socket beside the ledger (mode 0600) through
// which `udi-edge trace` asks a running agent, since bbolt lets only one
// process open the file for writing. Each connection carries one JSON
// request line and gets one JSON response line.

// controlRequest is a request on the control socket.
type controlRequest struct {
	// Op is "trace", "status", "door", "inventory" or "export-epcis".
	Op     string `json:"op"`
	Key    string `json:"key,omitempty"`
	Prefix bool   `json:"prefix,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	// Zone and Open, for "door": a cabinet's door opened or closed; Zone
	// for "inventory".
	Zone string `json:"zone,omitempty"`
	Open bool   `json:"open,omitempty"`
	// Reason and Actor, for "justify".
	Reason string `json:"reason,omitempty"`
	Actor  string `json:"actor,omitempty"`
	// Set, Path and Format, for "import": a master data file.
	Set    string `json:"set,omitempty"`
	Path   string `json:"path,omitempty"`
	Format string `json:"format,omitempty"`
	// From, IncludePatient and IncludeActor, for "export-epcis".
	From           uint64 `json:"from,omitempty"`
	IncludePatient bool   `json:"include_patient,omitempty"`
	IncludeActor   bool   `json:"include_actor,omitempty"`
}

// controlResponse is the answer to a controlRequest.
type controlResponse struct {
	Error     string           `json:"error,omitempty"`
	Movements []agent.Movement `json:"movements,omitempty"`
	// Settlements are the settlement lines that bill the traced items.
	Settlements []master.Settlement `json:"settlements,omitempty"`
	Gateway     string              `json:"gateway,omitempty"`
	LastSeq     uint64              `json:"last_seq,omitempty"`
	// IndexDamaged reports that the ledger's item index was found damaged
	// (movements are still recorded; udi-edge reindex repairs it).
	IndexDamaged bool `json:"index_damaged,omitempty"`
	// Scanners tells, for each configured scanner, whether its port is open.
	Scanners map[string]bool `json:"scanners,omitempty"`
	// Sync reports the uplink to the central service, when one runs.
	Sync *uplink.Stats `json:"sync,omitempty"`
	// Tags lists the tags present in a cabinet zone, for "inventory".
	Tags []string `json:"tags,omitempty"`
	// Written and Skipped count an export's events and the movements that
	// have none; the document follows the response line.
	Written int `json:"written,omitempty"`
	Skipped int `json:"skipped,omitempty"`
	// Rows, RowErrors and Version report an import.
	Rows      int      `json:"rows,omitempty"`
	RowErrors []string `json:"row_errors,omitempty"`
	Version   string   `json:"version,omitempty"`
}

// ControlServer serves the control socket of a running agent.
type ControlServer struct {
	path   string
	ln     net.Listener
	ledger *bolt.Ledger
	master *master.Store
	uplink *uplink.Uplink
	cfg    Config
	status func() map[string]bool
	// door, if set, relays a cabinet door's state to the presence tracker.
	door func(zone string, open bool) error
	// inventory, if set, returns what a cabinet zone holds.
	inventory func(zone string) ([]string, error)
	log       *slog.Logger
	wg        sync.WaitGroup
}

// ListenControl listens on path. A socket left by an agent that died is
// replaced; one that still answers means another agent runs on this ledger.
// status, if not nil, reports which scanners have their port open; rfid, if
// not nil, answers door signals and inventory questions.
func ListenControl(path string, l *bolt.Ledger, cfg Config, status func() map[string]bool, rfid *rfid, log *slog.Logger) (*ControlServer, error) {
	if _, err := os.Stat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, 500*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another agent is answering on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: remove stale socket: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	s := &ControlServer{path: path, ln: ln, ledger: l, cfg: cfg, status: status, log: log}
	if rfid != nil {
		s.door, s.inventory = rfid.door, rfid.inventory
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *ControlServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("control socket accept", "err", err)
			}
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.handle(c)
		}()
	}
}

func (s *ControlServer) handle(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var req controlRequest
	var resp controlResponse
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 4096), 64<<10)
	if !sc.Scan() {
		return
	}
	if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
		resp.Error = "bad request: " + err.Error()
	} else if req.Op == "export-epcis" {
		s.export(c, req)
		return
	} else {
		ctx := context.Background()
		var err error
		switch req.Op {
		case "trace":
			resp.Movements, err = traceMovements(ctx, s.ledger, req.Key, req.Prefix, req.Limit)
			if s.master != nil {
				resp.Settlements = settlementsFor(s.master.Load(), resp.Movements)
			}
		case "door":
			if s.door == nil {
				err = errors.New("no RFID zones are configured")
			} else {
				err = s.door(req.Zone, req.Open)
			}
		case "justify":
			resp, err = justify(ctx, s.ledger, req)
		case "import":
			if s.master == nil {
				err = errors.New("master data are not kept by this agent")
			} else {
				resp, err = importSet(s.ledger, s.master, req)
			}
		case "inventory":
			if s.inventory == nil {
				err = errors.New("no RFID zones are configured")
			} else {
				resp.Tags, err = s.inventory(req.Zone)
			}
		case "status":
			resp.Gateway, resp.LastSeq = s.ledger.Gateway(), s.ledger.LastSeq()
			resp.IndexDamaged = s.ledger.Stats().IndexDamaged
			if s.status != nil {
				resp.Scanners = s.status()
			}
			if s.uplink != nil {
				st := s.uplink.Stats()
				resp.Sync = &st
			}
		default:
			err = fmt.Errorf("unknown op %q", req.Op)
		}
		if err != nil {
			resp.Error = err.Error()
		}
	}
	_ = json.NewEncoder(c).Encode(resp)
}

// export streams an EPCIS document: a response line, then the document.
// The document is built first in a temporary file, so that an error is
// reported in the response line instead of cutting the document short.
func (s *ControlServer) export(c net.Conn, req controlRequest) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Minute))
	var resp controlResponse
	tmp, err := os.CreateTemp("", "udi-edge-export-*.jsonld")
	if err == nil {
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		resp.Written, resp.Skipped, err = exportEPCIS(tmp, s.ledger, s.cfg, req)
	}
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		resp.Error = err.Error()
	}
	if json.NewEncoder(c).Encode(resp) != nil || err != nil {
		return
	}
	if _, err := io.Copy(c, tmp); err != nil {
		s.log.Warn("export not delivered", "err", err)
	}
}

// Close stops serving and removes the socket file.
func (s *ControlServer) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// errNoAgent says no agent answers on the control socket.
var errNoAgent = errors.New("no agent answers on the control socket")

// askAgent sends one request to the agent serving path.
func askAgent(path string, req controlRequest) (controlResponse, error) {
	var resp controlResponse
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return resp, fmt.Errorf("%w: %v", errNoAgent, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return resp, err
	}
	dec := json.NewDecoder(c)
	if err := dec.Decode(&resp); err != nil {
		return resp, fmt.Errorf("control socket %s: %w", path, err)
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}
