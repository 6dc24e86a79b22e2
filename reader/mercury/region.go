package mercury

import (
	"fmt"
	"strings"
)

// regionNames are the names Region.String returns and ParseRegion accepts,
// those of the Mercury API's TMR_Region without its prefix.
var regionNames = map[Region]string{
	RegionNA:   "NA",
	RegionEU:   "EU",
	RegionKR:   "KR",
	RegionIN:   "IN",
	RegionJP:   "JP",
	RegionPRC:  "PRC",
	RegionEU2:  "EU2",
	RegionEU3:  "EU3",
	RegionKR2:  "KR2",
	RegionPRC2: "PRC2",
	RegionAU:   "AU",
	RegionNZ:   "NZ",
	RegionNA2:  "NA2",
	RegionNA3:  "NA3",
	RegionOpen: "OPEN",
}

// String returns the region's name ("PRC", "NA2"), or its value in hex
// when it has none.
func (r Region) String() string {
	if s, ok := regionNames[r]; ok {
		return s
	}
	return fmt.Sprintf("region 0x%02X", byte(r))
}

// ParseRegion returns the region named s, in any case: NA, EU, KR, IN, JP,
// PRC, EU2, EU3, KR2, PRC2, AU, NZ, NA2, NA3 or OPEN. RegionNone is not a
// region a module can be set to and has no name.
func ParseRegion(s string) (Region, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	for r, name := range regionNames {
		if name == u {
			return r, nil
		}
	}
	return RegionNone, fmt.Errorf("%w: unknown region %q", ErrInvalidArgument, s)
}

// RegionNames lists the names ParseRegion accepts, for messages.
const RegionNames = "NA, EU, KR, IN, JP, PRC, EU2, EU3, KR2, PRC2, AU, NZ, NA2, NA3 or OPEN"
