package code

import "strings"

// KeyParts is what an item key, as Code.Key prints it, names.
type KeyParts struct {
	// Key is the item key split.
	Key string
	// Kind is the kind of code the key belongs to: KindGS1, KindHIBC,
	// KindMA or KindAHM; KindPlain for a key this package does not print
	// (an RFID tag's raw EPC key, urn:epc:raw:…).
	Kind Kind
	// Product is the product key: the GTIN of a GS1 key, "+" labeler,
	// product and unit of measure of an HIBC key, the DI of an MA key;
	// "" for an AHM key and a key of no kind this package prints.
	Product string
	// Serial and Lot are the serial or lot the key names, "" when it
	// names neither.
	Serial, Lot string
}

// Unit reports whether the key names one physical item: a GS1, HIBC or
// MA key with a serial, an AHM key (the whole code as read), or any key
// this package does not print (an RFID tag's). A key with a lot, or with
// neither serial nor lot, names many items; the empty key names none.
func (k KeyParts) Unit() bool {
	switch k.Kind {
	case KindGS1, KindHIBC, KindMA:
		return k.Serial != ""
	}
	return k.Key != ""
}

// SplitKey returns what the item key key names, by its form alone (no
// check character is verified):
//
//	(01)GTIN(21)SERIAL  (01)GTIN(10)LOT  (01)GTIN
//	+LICPCNUOM/SSERIAL  +LICPCNUOM/$LOT  +LICPCNUOM
//	DI.SSERIAL          DI.LLOT          DI          (DI = MA.ccc.M0.rrrrrr.product)
//	MF…                                              (AHM: the code as read)
//
// Every consumer that needs the product, serial or lot of a movement's
// item key reads them here, so that each kind of key is told apart by one
// rule. An empty key gives the zero KeyParts.
func SplitKey(key string) KeyParts {
	switch {
	case key == "":
		return KeyParts{}
	case strings.HasPrefix(key, "(01)") && len(key) >= 18:
		k := KeyParts{Key: key, Kind: KindGS1, Product: key[4:18]}
		switch rest := key[18:]; {
		case strings.HasPrefix(rest, "(21)"):
			k.Serial = rest[4:]
		case strings.HasPrefix(rest, "(10)"):
			k.Lot = rest[4:]
		}
		return k
	case key[0] == '+':
		prod, rest, _ := strings.Cut(key, "/")
		k := KeyParts{Key: key, Kind: KindHIBC, Product: prod}
		switch {
		case strings.HasPrefix(rest, "S"):
			k.Serial = rest[1:]
		case strings.HasPrefix(rest, "$"):
			k.Lot = rest[1:]
		}
		return k
	case isMA([]byte(key)):
		end := maDIEnd(key)
		k := KeyParts{Key: key, Kind: KindMA, Product: key[:end]}
		if end+2 < len(key) {
			switch v := key[end+2:]; key[end+1] {
			case 'S':
				k.Serial = v
			case 'L':
				k.Lot = v
			}
		}
		return k
	case ahmStart([]byte(key)) >= 0:
		return KeyParts{Key: key, Kind: KindAHM}
	}
	return KeyParts{Key: key}
}
