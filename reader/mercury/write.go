package mercury

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// inventoryFlags are the search flags of the inventories WriteEPC runs:
// the configured antenna list and 4-byte tag counts.
const inventoryFlags = SearchConfiguredList | SearchLargeTagPopulation

// verifyMetadata are the fields asked for with the read-back of a write.
const verifyMetadata = MetaReadCount | MetaRSSI | MetaAntenna

// serveWrite runs a WriteEPC job between two reads of the stream and
// hands its outcome to the caller. It returns an error only when the line
// or the module failed, and Run must reconnect.
func (s *session) serveWrite(ctx context.Context, req *writeReq) error {
	outcome, fatal := s.writeEPC(ctx, req.epc)
	req.done <- outcome
	if outcome != nil {
		s.r.log.Warn("mercury reader tag write failed", "epc_bytes", len(req.epc), "err", outcome)
	} else {
		s.r.log.Info("mercury reader tag written and verified", "epc_bytes", len(req.epc))
	}
	return fatal
}

// writeEPC stops reading, writes and verifies epc, and starts reading
// again. outcome is what WriteEPC returns; fatal is set when the
// connection must be restarted.
func (s *session) writeEPC(ctx context.Context, epc []byte) (outcome, fatal error) {
	if err := s.stopReading(ctx); err != nil {
		return err, err
	}
	outcome, fatal = s.writeAndVerify(ctx, epc)
	if fatal != nil {
		return fatal, fatal
	}
	if err := s.startReading(ctx); err != nil {
		if outcome == nil {
			outcome = err
		}
		return outcome, err
	}
	return outcome, nil
}

// writeAndVerify makes sure one tag is in the field, writes epc to it and
// reads it back. Tag-level failures come back as outcome, line and module
// failures as fatal.
func (s *session) writeAndVerify(ctx context.Context, epc []byte) (outcome, fatal error) {
	n, err := s.inventory(ctx)
	switch {
	case err != nil:
		return classify("count tags", err)
	case n == 0:
		return ErrNoTag, nil
	case n > 1:
		return &MultipleTagsError{Count: n}, nil
	}

	req, err := CmdWriteTagID(uint16(s.cfg.WriteTimeout/time.Millisecond), epc)
	if err != nil {
		return err, nil
	}
	if _, err := s.command(ctx, req, s.cfg.WriteTimeout+s.cfg.CommandTimeout); err != nil {
		var me *Error
		if errors.As(err, &me) {
			return &WriteError{Status: me.Status}, nil
		}
		return nil, fmt.Errorf("write EPC: %w", err)
	}

	n, err = s.inventory(ctx)
	switch {
	case err != nil:
		return classify("read back", err)
	case n == 0:
		return &VerifyError{Want: epc}, nil
	case n > 1:
		return &MultipleTagsError{Count: n}, nil
	}
	f, err := s.command(ctx, CmdGetTagBuffer(verifyMetadata), s.cfg.CommandTimeout)
	if err != nil {
		return classify("read back", err)
	}
	var got []byte
	valid, count := true, 0
	if err := ParseTagBuffer(f, func(t TagRead) {
		count++
		got, valid = bytes.Clone(t.EPC), t.CRCValid
	}); err != nil {
		return fmt.Errorf("read back: %w", err), nil
	}
	switch {
	case count == 0:
		return &VerifyError{Want: epc}, nil
	case count > 1:
		return &MultipleTagsError{Count: count}, nil
	case !valid:
		s.r.n.tagCRC.Add(1)
		return &VerifyError{Want: epc, Got: got}, nil
	case !bytes.Equal(got, epc):
		return &VerifyError{Want: epc, Got: got}, nil
	}
	return nil, nil
}

// inventory empties the module's tag buffer and runs one synchronous
// inventory of Config.InventoryTimeout, returning the number of tags
// found.
func (s *session) inventory(ctx context.Context) (int, error) {
	if _, err := s.command(ctx, CmdClearTagBuffer(), s.cfg.CommandTimeout); err != nil {
		return 0, err
	}
	timeout := s.cfg.InventoryTimeout
	f, err := s.command(ctx, CmdReadTagMultiple(inventoryFlags, uint16(timeout/time.Millisecond)), timeout+s.cfg.CommandTimeout)
	var me *Error
	if errors.As(err, &me) && me.Status == StatusNoTagsFound {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return ParseReadCount(f)
}

// classify splits an error of a step of WriteEPC: a module status is the
// caller's outcome; anything else (silence, the line) is fatal too.
func classify(step string, err error) (outcome, fatal error) {
	err = fmt.Errorf("%s: %w", step, err)
	if errors.Is(err, ErrStatus) || errors.Is(err, ErrMalformed) {
		return err, nil
	}
	return nil, err
}
