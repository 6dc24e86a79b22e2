package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"unicode/utf8"
)

// Formats of master data.
const (
	// FormatCSV is a CSV file with a header row.
	FormatCSV = "csv"
	// FormatJSON is a JSON array.
	FormatJSON = "json"
)

// Master is one publication of a master data set (retained): a whole file
// of the set in the format the gateway's import command reads.
type Master struct {
	// V is JSONVersion.
	V int `json:"v"`
	// Set is the set's name, one of Sets.
	Set string `json:"set"`
	// Version increases with every publication of the set; 1 or more.
	Version uint64 `json:"version"`
	// Format is FormatCSV or FormatJSON.
	Format string `json:"format"`
	// SHA256 is the SHA-256 of Data, 64 lowercase hex digits.
	SHA256 string `json:"sha256"`
	// Data is the file, UTF-8.
	Data string `json:"data"`
}

// NewMaster returns version of set with data in format, its checksum
// computed.
func NewMaster(set string, version uint64, format string, data []byte) Master {
	sum := sha256.Sum256(data)
	return Master{V: JSONVersion, Set: set, Version: version, Format: format, SHA256: hex.EncodeToString(sum[:]), Data: string(data)}
}

func (m *Master) validate() error {
	const p = "master"
	if err := checkV(p, m.V); err != nil {
		return err
	}
	if err := ValidSet(m.Set); err != nil {
		return fieldErr(ErrMalformed, p, "set", "%v", err)
	}
	if m.Version == 0 {
		return fieldErr(ErrMalformed, p, "version", "0; versions start at 1")
	}
	if m.Format != FormatCSV && m.Format != FormatJSON {
		return fieldErr(ErrMalformed, p, "format", "want %q or %q", FormatCSV, FormatJSON)
	}
	if err := validHex(p, "sha256", m.SHA256, sha256.Size); err != nil {
		return err
	}
	if !utf8.ValidString(m.Data) {
		return fieldErr(ErrMalformed, p, "data", "not UTF-8")
	}
	if sum := sha256.Sum256([]byte(m.Data)); hex.EncodeToString(sum[:]) != m.SHA256 {
		return fieldErr(ErrChecksum, p, "sha256", "does not match data")
	}
	return nil
}

// EncodeMaster returns m as JSON. It returns a *FieldError for an invalid
// set name, version, format or checksum, or data that is not UTF-8.
func EncodeMaster(m Master) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	return marshal("master", m)
}

// DecodeMaster decodes master data and verifies its set name, version,
// format and checksum; it does not parse Data. Every field is required. It
// returns a *FieldError wrapping ErrVersion for an unknown "v",
// ErrChecksum for a checksum that does not match and ErrMalformed for
// anything else, naming the field.
func DecodeMaster(p []byte) (Master, error) {
	o, err := parseObject("master", p)
	if err != nil {
		return Master{}, err
	}
	m := Master{V: JSONVersion}
	o.field("set", true, &m.Set)
	o.field("version", true, &m.Version)
	o.field("format", true, &m.Format)
	o.field("sha256", true, &m.SHA256)
	o.field("data", true, &m.Data)
	if err := o.done(); err != nil {
		return Master{}, err
	}
	if err := m.validate(); err != nil {
		return Master{}, err
	}
	return m, nil
}
