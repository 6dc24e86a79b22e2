// Package uplink is the gateway's side of the sync protocol
// (sync/PROTOCOL.md): it reads movements from the ledger's outbox,
// publishes them in batches over MQTT, advances the ledger's sync cursor
// on the central service's acknowledgements, resends on request and after
// every reconnect, and hands master data from the centre to the agent.
//
// The ledger is the only buffer: the uplink keeps no movement of its own
// beyond the batch it is publishing, so memory does not grow with the
// backlog however long the gateway was offline. It never advances the
// sync cursor on anything but a centre ack whose hash matches the
// ledger's own movement: a broker's PUBACK is not delivery. It never
// logs a movement's content (a Patient field must never reach a log
// line), and it never imports the ledger package: it speaks to it through
// Outbox.
package uplink
