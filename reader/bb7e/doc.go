// Package bb7e is the protocol layer for the small UHF RFID modules built
// on the Magic RF M100 / QM100 reader chip (R200, JRD-4035, YPD-R200,
// M5Stack Unit UHF RFID and their kin), whose serial frames run from a
// 0xBB head to a 0x7E tail:
//
//	BB TYPE CMD PL(2, big-endian) PARAMS[PL] CHECKSUM 7E
//
// TYPE is 00 for a command, 01 for a response, 02 for a notification (a
// tag read); CHECKSUM is the low byte of the sum of TYPE through the last
// parameter. A frame is cut by its length field, never by looking for the
// tail: 0x7E and 0xBB occur inside EPCs. Some boards use AA and DD as head
// and tail with the same layout; a Framing selects them.
//
// The package builds the host's commands byte for byte, cuts the module's
// byte stream into frames with resynchronisation after noise, and parses
// tag notifications (RSSI, PC, EPC, the tag's Gen2 CRC, checked), error
// frames and the responses a driver needs.
//
// The protocol layer (Decoder, the Cmd* builders, ParseEvent and the
// other parsers) is pure: it never reads or writes a device, never sleeps
// or blocks, never starts a goroutine and never logs (an EPC may identify
// a patient's implant). A Decoder allocates its one buffer when made and
// never grows it. Frames handed to callbacks alias that buffer and are
// valid only until the callback returns.
//
// Reader is the serial driver on top of it: it opens the line through
// package reader, asks for the module's versions, sets region and power,
// multi-polls in bursts of ReaderConfig.PollCount rounds and streams
// every tag read whose Gen2 CRC is good to its caller (as the domain's
// agent.TagRead, or with its metadata as a TagEvent),
// reconnecting when the module goes silent or is unplugged. One
// goroutine, Run's, does all the I/O.
//
// The driver must never block the rest of the agent and never log tag
// data: emit is called on Run's goroutine and must only hand the event
// on; log lines carry counts and error codes in words, never an EPC.
// Rounds without a tag (error 0x15) are counted, not logged; everything
// else that is discarded is counted (Reader.Counters) and logged,
// rate-limited.
package bb7e
