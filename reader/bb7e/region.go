package bb7e

import (
	"fmt"
	"strings"
)

var regionNames = map[Region]string{
	RegionChina900: "china900",
	RegionUS:       "us",
	RegionEU:       "eu",
	RegionChina800: "china800",
	RegionKorea:    "korea",
}

// RegionNames lists the names RegionByName accepts, for messages.
const RegionNames = "china900, us, eu, china800 or korea"

// String returns the region's name ("china900"), or its value in hex.
func (r Region) String() string {
	if s, ok := regionNames[r]; ok {
		return s
	}
	return fmt.Sprintf("region 0x%02X", byte(r))
}

// RegionByName returns the region named s, in any case: china900 (920–925
// MHz), us, eu, china800 (840–845 MHz) or korea.
func RegionByName(s string) (Region, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	for r, name := range regionNames {
		if name == l {
			return r, nil
		}
	}
	return 0, fmt.Errorf("bb7e: unknown region %q: want %s", s, RegionNames)
}
