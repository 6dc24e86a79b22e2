// Package mercury is the protocol layer for UHF RFID modules that speak the
// ThingMagic/JADAK Mercury serial protocol (M6e, M6e Nano, M6e Micro, M7e):
// it builds the host's request frames byte for byte, cuts the module's byte
// stream into response frames, checks both CRCs (the frame's and the tag's
// own Gen2 CRC) and turns responses into typed values: tag reads with their
// metadata, keep-alives, statistics, version information and module errors.
//
// A request is
//
//	FF LEN OP DATA[LEN] CRC(2, big-endian)
//
// and a response is
//
//	FF LEN OP STATUS(2) DATA[LEN] CRC(2, big-endian)
//
// where LEN counts DATA only and the CRC covers LEN through DATA (the status
// word included). The CRC is the Mercury CRC (see CRC), not CRC-16/CCITT.
//
// The protocol layer (the Decoder, the Cmd* builders, ParseEvent and the
// other parsers) is pure: it never reads or writes a device, never sleeps
// or blocks, never starts a goroutine and never logs (a tag's EPC may
// identify a patient's implant). A Decoder holds one fixed buffer,
// allocated with it, and never grows: feeding it any amount of any bytes
// costs bounded memory and no allocation per frame. Values handed to
// callbacks alias that buffer and are valid only until the callback
// returns; copy what must be kept (TagRead.Clone).
//
// Reader is the serial driver on top of it: it opens the line through
// package reader (probing the line speed if asked), runs the start-up
// sequence (VERSION, SET_REGION, SET_READ_TX_POWER, SET_ANTENNA_PORT,
// SET_TAG_PROTOCOL, start of continuous reading), streams every tag read
// whose Gen2 CRC is good to its caller (as the domain's agent.TagRead, or
// with the module's metadata as a TagEvent), watches the
// keep-alives, pauses an over-hot module, survives unplugging, and
// commissions tags (WriteEPC). One goroutine, Run's, does all the I/O;
// BenchReads measures its parse path.
//
// The driver must never block the rest of the agent and never log tag
// data: emit is called on Run's goroutine and must only hand the event
// on; log lines carry counts, statuses in words and byte lengths, never
// an EPC, at any level. Nothing is dropped silently: every discarded
// frame or read is counted (Reader.Counters) and logged, rate-limited.
package mercury
