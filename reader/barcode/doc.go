// Package barcode is the driver for barcode scanners attached in serial mode
// (RS-232, USB-serial, or USB-CDC "virtual COM port"). It opens the line,
// cuts the byte stream into frames by the configured suffix (CR, LF, CRLF)
// or by an idle gap, splits off the AIM symbology identifier (ISO/IEC 15424)
// and hands each frame to the agent as an agent.Read. When the scanner is
// unplugged it reports the loss, reopens the device with backoff and carries
// on. Answer queues the feedback to a scan (a beep, an LED command) and the
// driver writes it back to the scanner; Write sends other commands at once.
//
// The package never interprets the data (GS1, HIBC and the rest are parsed
// downstream), never drops a frame silently (an over-long or cut-off frame
// becomes a Read with Err set), never holds more than Config.MaxLen bytes
// of a frame, never writes an answer to a connection later than the one its
// scan came over nor drops one uncounted (Stats), and never logs the
// contents of a barcode: log lines carry byte counts and symbology
// identifiers only, because a scan may be a patient's wristband.
//
// The framing rules:
//
//   - SuffixCR: a CR ends a frame. An LF that directly follows that CR, even
//     in a later read, is taken as part of the suffix and dropped, so a
//     scanner that sends CRLF works unchanged. Any other LF is data.
//   - SuffixLF: an LF ends a frame; a CR is data.
//   - SuffixCRLF: the pair CR LF ends a frame, also when split across reads;
//     a CR not followed by LF is data.
//   - SuffixNone: a frame ends when no byte has arrived for Config.Gap.
//
// A terminator with nothing before it (a bare CR or LF) yields no Read. GS
// (0x1D, the GS1 separator FNC1) and every other byte are data.
package barcode
