package cabinet

import (
	"errors"
	"fmt"
	"strings"

	"github.com/udi-edge/udi-edge/agent"
)

// Commissioning binds a tag to an item at an encoding station: the item's
// barcode is scanned while its new tag lies on the station's antenna.

// ErrNoTagOnPad, ErrSeveralTags and ErrTagOfOtherItem say why a tag could
// not be commissioned.
var (
	ErrNoTagOnPad     = errors.New("no tag on the encoder pad: place the item's tag on the pad and scan again")
	ErrSeveralTags    = errors.New("several tags on the encoder pad: leave only the item's tag and scan again")
	ErrTagOfOtherItem = errors.New("the tag already carries the EPC of another item")
)

// TagOnPad is a tag read at an encoding station.
type TagOnPad struct {
	Key  string // the tag's key (epc.Key)
	Raw  []byte // PC word and EPC as read
	RSSI int    // strongest RSSI, dBm
}

// PadMargin is how many dB the strongest tag on a pad must lead the next one
// by to be taken as the item's tag.
const PadMargin = 6

// PickTag chooses the item's tag among the tags on an encoder pad: the only
// one, or one that is clearly the strongest.
func PickTag(tags []TagOnPad) (TagOnPad, error) {
	switch len(tags) {
	case 0:
		return TagOnPad{}, ErrNoTagOnPad
	case 1:
		return tags[0], nil
	}
	best, second := 0, -1
	for i := 1; i < len(tags); i++ {
		if tags[i].RSSI > tags[best].RSSI {
			best, second = i, best
		} else if second < 0 || tags[i].RSSI > tags[second].RSSI {
			second = i
		}
	}
	if tags[best].RSSI-tags[second].RSSI < PadMargin {
		return TagOnPad{}, fmt.Errorf("%w (%d tags read)", ErrSeveralTags, len(tags))
	}
	return tags[best], nil
}

// Commission turns the movement of a barcode scanned at an encoding station
// into the commission movement binding tag to the item; a barcode that did
// not name an item stays the rejection it is. A tag whose EPC is an SGTIN
// of another item is not bound: the movement is rejected with the reason.
func Commission(scan agent.Movement, tag TagOnPad) agent.Movement {
	if scan.Kind == agent.KindReject {
		return scan
	}
	if strings.HasPrefix(tag.Key, "(01)") && tag.Key != scan.Item {
		scan.Kind = agent.KindReject
		scan.Reason = fmt.Sprintf("%v: the tag is %s, the label %s", ErrTagOfOtherItem, tag.Key, scan.Item)
		scan.Tag = tag.Key
		return scan
	}
	scan.Kind = agent.KindCommission
	scan.Tag = tag.Key
	if tag.Key == scan.Item {
		scan.Reason = "the tag already carries this item's EPC"
	} else {
		scan.Reason = "tag " + tag.Key + " bound to this item"
	}
	return scan
}
