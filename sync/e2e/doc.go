// Package e2e holds the end-to-end tests of sync: the real udi-edge and
// udi-central binaries, built once per run, talking through a real
// Mosquitto broker started per test (sync/internal/mosquitto; the shipped
// deploy/mosquitto configuration where a test says so, two of them
// bridged in one), or a cluster of three NATS servers
// (sync/internal/nats, deploy/nats as shipped), with movements put into
// gateway ledgers both before a gateway starts (a backlog, as after days
// offline) and while it runs (scans written to a pseudo-terminal
// scanner).
//
// Each test kills, restarts or cuts off one of the processes in the middle
// of a drain and then proves, from the stopped processes' files, that the
// centre holds every movement of every gateway exactly once, in order,
// byte for byte and with the hash chain intact, and that each gateway's
// sync cursor reached its last movement.
//
// The package holds tests only. It must never be imported, and its tests
// must never edit the code under test: they see the binaries from outside,
// through their command lines, configuration files, control socket, HTTP
// API and files, the way an operator would.
package e2e
