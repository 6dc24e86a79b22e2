package wire

import (
	"strings"

	"github.com/udi-edge/udi-edge/agent"
)

// Topic layout: udi/v1/{site}/{gateway}/{leaf} and udi/v1/{site}/master/{set}.
const (
	// Prefix starts every topic of protocol version 1.
	Prefix = "udi/v1/"

	// LeafMovements is the topic leaf of a gateway's batches.
	LeafMovements = "movements"
	// LeafAck is the topic leaf of the centre's acks to a gateway.
	LeafAck = "ack"
	// LeafResend is the topic leaf of the centre's resend requests.
	LeafResend = "resend"
	// LeafStatus is the topic leaf of a gateway's status and last will.
	LeafStatus = "status"

	// MasterSegment stands in place of the gateway in a master data topic;
	// no gateway may have it as id.
	MasterSegment = "master"

	// SharedGroup is the shared subscription group of the central service's
	// instances.
	SharedGroup = "udi-central"

	// MaxIDLen is the longest site or gateway id.
	MaxIDLen = agent.MaxIDLen
)

// Master data sets: the {set} of a master data topic. Their files are
// described in firmware-notes/master-data.md.
const (
	// SetCatalogue is the catalogue.
	SetCatalogue = "catalogue"
	// SetRecalls is the recalls.
	SetRecalls = "recalls"
	// SetLots is the lot statuses.
	SetLots = "lots"
	// SetSettlements is the settlements.
	SetSettlements = "settlements"
	// SetSchedules is the case schedules.
	SetSchedules = "schedules"
	// SetPar is the par levels.
	SetPar = "par"
	// SetCodes is the NHSA's code releases (replaced and withdrawn
	// national codes).
	SetCodes = "codes"
)

// Sets returns the names of the master data sets, in a fixed order.
func Sets() []string {
	return []string{SetCatalogue, SetRecalls, SetLots, SetSettlements, SetSchedules, SetPar, SetCodes}
}

// ValidSet returns nil when set is one of the master data sets, an
// *IDError otherwise.
func ValidSet(set string) error {
	switch set {
	case SetCatalogue, SetRecalls, SetLots, SetSettlements, SetSchedules, SetPar, SetCodes:
		return nil
	}
	return &IDError{What: "set", ID: cut(set, 80), Reason: "not a master data set"}
}

// ValidID returns nil when s is a valid site id (agent.CheckID). It
// returns an *IDError otherwise.
func ValidID(s string) error { return agent.CheckID("site", s) }

// ValidGateway returns nil when s is a valid gateway id (agent.CheckID:
// a valid id that is not "master"). It returns an *IDError otherwise.
func ValidGateway(s string) error { return agent.CheckID("gateway", s) }

func gatewayTopic(site, gateway, leaf string) string {
	return Prefix + site + "/" + gateway + "/" + leaf
}

// MovementsTopic returns the topic gateway publishes its batches to. The
// ids are not checked: validate them once with ValidID and ValidGateway.
func MovementsTopic(site, gateway string) string { return gatewayTopic(site, gateway, LeafMovements) }

// AckTopic returns the topic of the centre's (retained) acks to gateway.
func AckTopic(site, gateway string) string { return gatewayTopic(site, gateway, LeafAck) }

// ResendTopic returns the topic of the centre's resend requests to
// gateway.
func ResendTopic(site, gateway string) string { return gatewayTopic(site, gateway, LeafResend) }

// StatusTopic returns the topic of gateway's (retained) status and last
// will.
func StatusTopic(site, gateway string) string { return gatewayTopic(site, gateway, LeafStatus) }

// MasterTopic returns the topic of master data set of site.
func MasterTopic(site, set string) string { return Prefix + site + "/" + MasterSegment + "/" + set }

// MasterFilter returns the subscription filter of every master data set of
// site, for a gateway.
func MasterFilter(site string) string { return Prefix + site + "/" + MasterSegment + "/#" }

// MovementsFilter returns the subscription filter of every gateway's
// batches of site, for the central service.
func MovementsFilter(site string) string { return Prefix + site + "/+/" + LeafMovements }

// SharedMovementsFilter returns MovementsFilter as a shared subscription
// of group SharedGroup, so that several central instances share the load.
func SharedMovementsFilter(site string) string {
	return "$share/" + SharedGroup + "/" + MovementsFilter(site)
}

// StatusFilter returns the subscription filter of every gateway's status of
// site, for the central service.
func StatusFilter(site string) string { return Prefix + site + "/+/" + LeafStatus }

// ParseTopic splits a topic of the protocol into its site, gateway and
// leaf (LeafMovements, LeafAck, LeafResend or LeafStatus). For a master
// data topic gateway is MasterSegment and leaf the set name; no gateway id
// can be MasterSegment, so the two cannot be confused. It returns a
// *TopicError for anything else, including a topic with an invalid id.
func ParseTopic(topic string) (site, gateway, leaf string, err error) {
	bad := func(reason string, idErr error) (string, string, string, error) {
		return "", "", "", &TopicError{Topic: cut(topic, 200), Reason: reason, Err: idErr}
	}
	rest, ok := strings.CutPrefix(topic, Prefix)
	if !ok {
		return bad("does not start with "+Prefix, nil)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return bad("want udi/v1/{site}/{gateway}/{leaf}", nil)
	}
	site, gateway, leaf = parts[0], parts[1], parts[2]
	if err := agent.CheckID("site", site); err != nil {
		return bad("invalid site", err)
	}
	if gateway == MasterSegment {
		if err := ValidSet(leaf); err != nil {
			return bad("unknown master data set", err)
		}
		return site, gateway, leaf, nil
	}
	if err := ValidGateway(gateway); err != nil {
		return bad("invalid gateway", err)
	}
	switch leaf {
	case LeafMovements, LeafAck, LeafResend, LeafStatus:
		return site, gateway, leaf, nil
	}
	return bad("unknown leaf", nil)
}

// ClientID returns the MQTT client id of gateway of site:
// udi-edge-{site}-{gateway}.
func ClientID(site, gateway string) string { return "udi-edge-" + site + "-" + gateway }
