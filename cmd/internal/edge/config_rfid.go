package edge

import (
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/presence"
	"github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/bb7e"
	"github.com/udi-edge/udi-edge/reader/mercury"
)

// ReaderConfig is one UHF RFID reader and where each of its antennas reads.
type ReaderConfig struct {
	ID     string `json:"id"`
	Type   string `json:"type"` // "mercury" or "bb7e"
	Device string `json:"device"`
	// Baud 0 probes the usual rates (mercury only).
	Baud int `json:"baud"`
	// Region is the regulatory region ("PRC", "NA2", "EU3", ...; bb7e:
	// "china900", "china800", "us", "eu", "korea").
	Region string `json:"region"`
	// PowerCdBm is the read power in centi-dBm (2000 = 20 dBm).
	PowerCdBm int `json:"power_cdbm"`
	// Framing is "BB7E" or "AADD" (bb7e only).
	Framing string `json:"framing"`
	// Antennas maps each antenna port to a zone.
	Antennas []AntennaConfig `json:"antennas"`
}

// AntennaConfig maps one antenna port to a zone.
type AntennaConfig struct {
	Port int    `json:"port"`
	Zone string `json:"zone"`
}

// ZoneConfig is one RFID zone: its location and its role.
type ZoneConfig struct {
	Name     string `json:"name"`
	Location string `json:"location"`
	// Role is cabinet, portal, encoder or or-table.
	Role string `json:"role"`
	// Portal and Side ("outer" or "inner") place a portal zone.
	Portal string `json:"portal"`
	Side   string `json:"side"`
	// Round is a cabinet's inventory round length.
	Round Duration `json:"round"`
}

// PresenceConfig tunes how tag reads become movements; zero values take
// the presence package's defaults (see firmware-notes/presence.md).
type PresenceConfig struct {
	DedupWindow  Duration `json:"dedup_window"`
	PortalWindow Duration `json:"portal_window"`
	MissRounds   int      `json:"miss_rounds"`
	RescanRounds int      `json:"rescan_rounds"`
	// RescanSettle: after a cabinet door closes, rounds count again only
	// once they start this long after the close.
	RescanSettle Duration `json:"rescan_settle"`
	// LinkWithin: an item taken from a cabinet and not used, returned,
	// wasted or moved back within this raises a "removed but not linked"
	// alert (zero: 4h; negative: never).
	LinkWithin Duration `json:"link_within"`
}

// defaultRound is a cabinet's round when none is configured.
const defaultRound = time.Second

func (c *Config) validateRFID() error {
	zones := map[string]bool{}
	for i, z := range c.Zones {
		p := fmt.Sprintf("zones[%d]", i)
		if err := agent.CheckID("zone", z.Name); err != nil {
			return &ConfigError{Where: p + ".name", Err: err}
		}
		if zones[z.Name] {
			return cfgErr(p+".name", "zone %q is defined twice", z.Name)
		}
		zones[z.Name] = true
		var r presence.Role
		if err := r.UnmarshalText([]byte(z.Role)); err != nil {
			return cfgErr(p+".role", "%q: want cabinet, portal, encoder or or-table", z.Role)
		}
		if z.Location == "" {
			return cfgErr(p+".location", "required: where zone %q is", z.Name)
		}
	}
	if len(c.Zones) > 0 {
		if _, err := c.presenceConfig(); err != nil {
			return err
		}
	}
	for i, s := range c.Scanners {
		p := fmt.Sprintf("scanners[%d]", i)
		if s.EncoderZone == "" {
			if s.WriteEPC {
				return cfgErr(p+".write_epc", "needs encoder_zone")
			}
			continue
		}
		if s.Kind != string(agent.KindCommission) {
			return cfgErr(p+".kind", "%q: an encoding station's scanner records commission", s.Kind)
		}
		z, ok := c.zone(s.EncoderZone)
		if !ok || z.Role != "encoder" {
			return cfgErr(p+".encoder_zone", "%q is not a zone with role encoder", s.EncoderZone)
		}
		if s.CompanyPrefixLength != 0 && (s.CompanyPrefixLength < 6 || s.CompanyPrefixLength > 12) {
			return cfgErr(p+".company_prefix_length", "%d: want 6 to 12", s.CompanyPrefixLength)
		}
		if s.WriteEPC {
			if _, err := c.encoderWriter(s.EncoderZone); err != nil {
				return cfgErr(p+".write_epc", "%v", err)
			}
		}
	}
	seen := map[string]bool{}
	for i, r := range c.Readers {
		p := fmt.Sprintf("readers[%d]", i)
		if err := agent.CheckID("reader", r.ID); err != nil {
			return &ConfigError{Where: p + ".id", Err: err}
		}
		if seen[r.ID] {
			return cfgErr(p+".id", "%q is used by two readers", r.ID)
		}
		seen[r.ID] = true
		if len(r.Antennas) == 0 {
			return cfgErr(p+".antennas", "map at least one antenna port to a zone")
		}
		ports := map[int]bool{}
		for j, a := range r.Antennas {
			q := fmt.Sprintf("%s.antennas[%d]", p, j)
			if a.Port < 1 || a.Port > 16 || ports[a.Port] {
				return cfgErr(q+".port", "%d: want a port from 1 to 16, once per reader", a.Port)
			}
			ports[a.Port] = true
			if !zones[a.Zone] {
				return cfgErr(q+".zone", "%q is not a zone defined under zones", a.Zone)
			}
		}
		switch r.Type {
		case "mercury":
			if err := r.mercuryConfig().Validate(); err != nil {
				return &ConfigError{Where: p, Err: err}
			}
		case "bb7e":
			if len(r.Antennas) != 1 || r.Antennas[0].Port != 1 {
				return cfgErr(p+".antennas", "a bb7e module has one antenna: map port 1")
			}
			if err := r.bb7eConfig().Validate(); err != nil {
				return &ConfigError{Where: p, Err: err}
			}
		default:
			return cfgErr(p+".type", "%q: want mercury or bb7e", r.Type)
		}
	}
	return nil
}

func (c *Config) zone(name string) (ZoneConfig, bool) {
	for _, z := range c.Zones {
		if z.Name == name {
			return z, true
		}
	}
	return ZoneConfig{}, false
}

// encoderWriter returns the id of the mercury reader that reads the encoder
// zone, which must be all it reads: WRITE_TAG_ID writes the one tag in the
// reader's field.
func (c *Config) encoderWriter(zone string) (string, error) {
	for _, r := range c.Readers {
		reads, other := false, false
		for _, a := range r.Antennas {
			if a.Zone == zone {
				reads = true
			} else {
				other = true
			}
		}
		if !reads {
			continue
		}
		if r.Type != "mercury" || other {
			return "", fmt.Errorf("zone %q is read by %s reader %q, which must be a mercury reading only that zone to write EPCs", zone, r.Type, r.ID)
		}
		return r.ID, nil
	}
	return "", fmt.Errorf("no reader reads zone %q", zone)
}

func (c *Config) presenceConfig() (presence.Config, error) {
	pc := presence.Config{
		DedupWindow:  time.Duration(c.Presence.DedupWindow),
		PortalWindow: time.Duration(c.Presence.PortalWindow),
		MissRounds:   c.Presence.MissRounds,
		RescanRounds: c.Presence.RescanRounds,
		RescanSettle: time.Duration(c.Presence.RescanSettle),
		Zones:        map[string]presence.ZoneConfig{},
	}
	for _, z := range c.Zones {
		var zc presence.ZoneConfig
		_ = zc.Role.UnmarshalText([]byte(z.Role))
		if zc.Role == presence.RolePortal {
			zc.Portal = z.Portal
			if err := zc.Side.UnmarshalText([]byte(z.Side)); err != nil {
				return pc, cfgErr("zones."+z.Name+".side", "%q: want outer or inner", z.Side)
			}
		}
		if zc.Role == presence.RoleCabinet {
			zc.RoundLength = time.Duration(z.Round)
			if zc.RoundLength == 0 {
				zc.RoundLength = defaultRound
			}
		}
		pc.Zones[z.Name] = zc
	}
	if err := pc.Validate(); err != nil {
		return pc, &ConfigError{Where: "presence/zones", Err: err}
	}
	return pc, nil
}

func (r ReaderConfig) serial() reader.Settings {
	return reader.Settings{Device: r.Device, Baud: r.Baud}
}

func (r ReaderConfig) ports() []int {
	var ps []int
	for _, a := range r.Antennas {
		ps = append(ps, a.Port)
	}
	return ps
}

func (r ReaderConfig) mercuryConfig() mercury.Config {
	return mercury.Config{ID: r.ID, Serial: r.serial(), ProbeBaud: r.Baud == 0, Region: r.Region,
		ReadPowerCdBm: r.PowerCdBm, Antennas: r.ports()}.WithDefaults()
}

func (r ReaderConfig) bb7eConfig() bb7e.ReaderConfig {
	return bb7e.ReaderConfig{ID: r.ID, Serial: r.serial(), Framing: r.Framing, Region: r.Region,
		PowerCdBm: r.PowerCdBm}.WithDefaults()
}

// cabinetConfig returns the RFID zones, readers' antennas and encoding
// stations of c for the core (nil when there are no zones); writers maps
// an encoder zone to the reader that writes its tags.
func (c *Config) cabinetConfig(writers func(zone string) cabinet.TagWriter) (*cabinet.Config, error) {
	if len(c.Zones) == 0 {
		return nil, nil
	}
	pc, err := c.presenceConfig()
	if err != nil {
		return nil, err
	}
	cc := &cabinet.Config{Presence: pc, Antennas: map[string]map[int]string{}, Encoders: map[string]cabinet.Encoder{},
		LinkWithin: time.Duration(c.Presence.LinkWithin)}
	for _, z := range c.Zones {
		var role presence.Role
		_ = role.UnmarshalText([]byte(z.Role))
		cc.Zones = append(cc.Zones, cabinet.Zone{Name: z.Name, Location: z.Location, Role: role})
	}
	for _, r := range c.Readers {
		m := map[int]string{}
		for _, a := range r.Antennas {
			m[a.Port] = a.Zone
		}
		cc.Antennas[r.ID] = m
	}
	for _, s := range c.Scanners {
		if s.EncoderZone == "" {
			continue
		}
		e := cabinet.Encoder{Zone: s.EncoderZone, WriteEPC: s.WriteEPC, CompanyPrefixLength: s.CompanyPrefixLength}
		if s.WriteEPC {
			e.Writer = writers(s.EncoderZone)
		}
		cc.Encoders[s.ID] = e
	}
	return cc, nil
}
