// Package web is the station page: a small web application the agent
// serves from its own binary (Go templates and a little JavaScript
// embedded, no build step) for the screens of a hospital's stations.
//
//	GET  /                          the stations and views the user may open
//	GET  /station/{id}              a station's screen: the open case (patient
//	                                masked), each scan with its decision in
//	                                plain words, a pending justification with
//	                                the reasons to choose from, CLOSE CASE
//	POST /station/{id}/justify      item=KEY&reason=CODE: record the reason
//	POST /station/{id}/close        close the station's case
//	GET  /warehouse?location=       stock against par, open replenishment
//	                                requests, expiring stock, the last cycle
//	                                count's differences, unknown tags
//	GET  /audit?code=&show=         a code's trace; anomalies, reconcile or
//	                                verify (read-only)
//	GET  /events?station=           the live stream (server-sent events)
//	GET  /login?token=&next=        sign a screen in: the token is kept in a
//	                                cookie
//	GET  /static/…                  the page's script and style
//
// Every answer comes from the gateway's core (agent/core), the same code
// the command line and the local API run. The page learns of each scan
// from the core's OnAnswer (Server.Publish): on the ledger's writer
// goroutine it takes no lock beyond a short copy and never waits; each
// screen has a bounded buffer, and a screen that falls behind is dropped
// and reconnects, drawn afresh.
//
// Access: on a loopback address a browser without a credential is the
// station's own screen (RoleLocal). Beyond loopback the page is served
// only over TLS and only to a token (a tokens file like udi-central's,
// with the roles nurse, warehouse and auditor) or a client certificate;
// roles are enforced on every route: the auditor reads and changes
// nothing, a nurse justifies and closes cases, the warehouse reads the
// warehouse.
//
// The page never logs a patient identifier, and never shows one unmasked
// but to a role that may see them (an auditor's trace). It never logs a
// token, nor a request's query (a code, a token).
package web
