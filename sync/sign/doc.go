// Package sign holds the Ed25519 keys of the sync protocol: the private key
// file of a gateway or of the central service (made at first start, mode
// 0600), the text form of a public key that an operator copies into an
// enrolment file or a gateway's configuration, and the enrolment file that
// tells the centre which key speaks for which gateway.
//
// What is signed is defined by sync/wire (the batch head, the ack, the
// master data); this package only keeps keys.
package sign
