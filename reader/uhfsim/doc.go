// Package uhfsim simulates the UHF RFID readers udi-edge drives, each on its
// own pseudo-terminal, so that the drivers, their integration tests and
// `udi-edge demo` can run without hardware:
//
//   - Mercury plays a ThingMagic/JADAK M6e Nano speaking the Mercury serial
//     protocol (FF LEN OP … CRC);
//   - BB7E plays a Magic RF M100 / R200 module framed BB … 7E (or AA … DD).
//
// A driver opens Path() with the serial library as it would open a USB
// device. The simulated devices answer host commands, stream tag reads for
// the tags that a World places on their antennas (with a seeded miss
// probability standing in for metal shelves and bodies), and inject faults
// on request: line noise, frames with a bad CRC or checksum, module error
// statuses, a device that stops answering, and unplugging and plugging back
// in (a new pseudo-terminal behind the same symbolic link).
//
// The frame codecs, the Mercury frame CRC, the 0xBB checksum and the Gen2
// tag CRC here are written from the protocol notes in firmware-notes/ and
// the captured frames in testdata/vectors, independently of the drivers'
// own codecs, so that a driver and the simulator cannot merely agree with
// each other. The package imports no other package of udi-edge.
//
// The package must never be used on a real gateway's data path: it is a
// stand-in for hardware in tests and demonstrations only, and nothing it
// produces is evidence that a real item was seen. It keeps no global state:
// every device, world and random source belongs to the value that made it,
// and Close releases its pseudo-terminals and links. It never logs.
package uhfsim
