package barcode

// SplitAIM splits a frame into its AIM symbology identifier (ISO/IEC 15424:
// "]", a code character A-Z or a-z naming the symbology, and a modifier
// character 0-9, A-Z or a-z) and the data after it. A frame that does not
// start with such an identifier has symbology "" and is all data. data
// aliases frame.
//
// A scanner with the AIM prefix turned off that reads a code starting with
// "]", a letter and a letter or digit cannot be told apart from one with
// the prefix on; that is one reason to keep the prefix on.
func SplitAIM(frame []byte) (symbology string, data []byte) {
	if len(frame) >= 3 && frame[0] == ']' && isLetter(frame[1]) && isAlnum(frame[2]) {
		return string(frame[:3]), frame[3:]
	}
	return "", frame
}

func isLetter(b byte) bool { return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' }

func isAlnum(b byte) bool { return isLetter(b) || '0' <= b && b <= '9' }
