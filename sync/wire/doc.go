// Package wire is the udi-edge sync protocol's encoding (sync/PROTOCOL.md):
// the MQTT topic names, the binary movement batch, and the JSON ack,
// resend, status and master data payloads. Both ends use it, the gateway
// (sync/uplink) and the central service (sync/central), so that the two
// agree on every byte.
//
// It is pure encoding: it never touches the network, a file or a clock,
// never logs, and never interprets a movement's content beyond the record
// framing (agent/record does that). Decoders accept only what the encoders
// produce, byte for byte for a batch, and never allocate more than the
// payload justifies, so that they can be handed anything a broker delivers.
package wire
