package code

import (
	"strconv"
	"strings"
)

// aiTable lists the GS1 Application Identifiers this package knows, after
// the GS1 General Specifications (section 3) and the GS1 Barcode Syntax
// Dictionary. One line per AI or AI range:
//
//	AI[-AI] [@flags] component... # title
//
// A component is a character set (N digits, X GS1 CSET 82, Y CSET 39, Z
// the base64url set), a length ("14" exactly, "..20" at most) and optional
// checks after commas. A component in brackets is optional and last.
// Flags: p = the value may identify a person; never quote it in a message.
const aiTable = `
00 N18,csum # SSCC
01 N14,csum # GTIN
02 N14,csum # CONTENT
03 N14,csum # MTO GTIN
10 X..20 # BATCH/LOT
11 N6,yymmd0 # PROD DATE
12 N6,yymmd0 # DUE DATE
13 N6,yymmd0 # PACK DATE
15 N6,yymmd0 # BEST BEFORE
16 N6,yymmd0 # SELL BY
17 N6,yymmd0 # USE BY OR EXPIRY
20 N2 # VARIANT
21 X..20 # SERIAL
22 X..20 # CPV
235 X..28 # TPX
240 X..30 # ADDITIONAL ID
241 X..30 # CUST. PART No.
242 N..6 # MTO VARIANT
243 X..20 # PCN
250 X..30 # SECONDARY SERIAL
251 X..30 # REF. TO SOURCE
253 N13,csum [X..17] # GDTI
254 X..20 # GLN EXTENSION COMPONENT
255 N13,csum [N..12] # GCN
30 N..8 # VAR. COUNT
3100-3105 N6 # NET WEIGHT (kg)
3110-3115 N6 # LENGTH (m)
3120-3125 N6 # WIDTH (m)
3130-3135 N6 # HEIGHT (m)
3140-3145 N6 # AREA (m2)
3150-3155 N6 # NET VOLUME (l)
3160-3165 N6 # NET VOLUME (m3)
3200-3205 N6 # NET WEIGHT (lb)
3210-3215 N6 # LENGTH (in)
3220-3225 N6 # LENGTH (ft)
3230-3235 N6 # LENGTH (yd)
3240-3245 N6 # WIDTH (in)
3250-3255 N6 # WIDTH (ft)
3260-3265 N6 # WIDTH (yd)
3270-3275 N6 # HEIGHT (in)
3280-3285 N6 # HEIGHT (ft)
3290-3295 N6 # HEIGHT (yd)
3300-3305 N6 # GROSS WEIGHT (kg)
3310-3315 N6 # LENGTH (m), log
3320-3325 N6 # WIDTH (m), log
3330-3335 N6 # HEIGHT (m), log
3340-3345 N6 # AREA (m2), log
3350-3355 N6 # VOLUME (l), log
3360-3365 N6 # VOLUME (m3), log
3370-3375 N6 # KG PER m2
3400-3405 N6 # GROSS WEIGHT (lb)
3410-3415 N6 # LENGTH (in), log
3420-3425 N6 # LENGTH (ft), log
3430-3435 N6 # LENGTH (yd), log
3440-3445 N6 # WIDTH (in), log
3450-3455 N6 # WIDTH (ft), log
3460-3465 N6 # WIDTH (yd), log
3470-3475 N6 # HEIGHT (in), log
3480-3485 N6 # HEIGHT (ft), log
3490-3495 N6 # HEIGHT (yd), log
3500-3505 N6 # AREA (in2)
3510-3515 N6 # AREA (ft2)
3520-3525 N6 # AREA (yd2)
3530-3535 N6 # AREA (in2), log
3540-3545 N6 # AREA (ft2), log
3550-3555 N6 # AREA (yd2), log
3560-3565 N6 # NET WEIGHT (troy oz)
3570-3575 N6 # NET VOLUME (oz)
3600-3605 N6 # NET VOLUME (qt)
3610-3615 N6 # NET VOLUME (gal)
3620-3625 N6 # VOLUME (qt), log
3630-3635 N6 # VOLUME (gal), log
3640-3645 N6 # VOLUME (in3)
3650-3655 N6 # VOLUME (ft3)
3660-3665 N6 # VOLUME (yd3)
3670-3675 N6 # VOLUME (in3), log
3680-3685 N6 # VOLUME (ft3), log
3690-3695 N6 # VOLUME (yd3), log
37 N..8 # COUNT
3900-3909 N..15 # AMOUNT
3910-3919 N3 N..15 # AMOUNT
3920-3929 N..15 # PRICE
3930-3939 N3 N..15 # PRICE
3940-3943 N4 # PRCNT OFF
3950-3955 N6 # PRICE/UoM
400 X..30 # ORDER NUMBER
401 X..30 # GINC
402 N17,csum # GSIN
403 X..30 # ROUTE
410 N13,csum # SHIP TO LOC
411 N13,csum # BILL TO
412 N13,csum # PURCHASE FROM
413 N13,csum # SHIP FOR LOC
414 N13,csum # LOC No.
415 N13,csum # PAY TO
416 N13,csum # PROD/SERV LOC
417 N13,csum # PARTY
420 X..20 # SHIP TO POST
421 N3 X..9 # SHIP TO POST
422 N3 # ORIGIN
423 N..15 # COUNTRY - INITIAL PROCESS
424 N3 # COUNTRY - PROCESS
425 N..15 # COUNTRY - DISASSEMBLY
426 N3 # COUNTRY - FULL PROCESS
427 X..3 # ORIGIN SUBDIVISION
4300-4301 @p X..35 # SHIP TO COMP/NAME
4302-4306 @p X..70 # SHIP TO ADDRESS
4307 X2 # SHIP TO COUNTRY
4308 @p X..30 # SHIP TO PHONE
4309 N10 N10 # SHIP TO GEO
4310-4311 @p X..35 # RTN TO COMP/NAME
4312-4316 @p X..70 # RTN TO ADDRESS
4317 X2 # RTN TO COUNTRY
4318 X..20 # RTN TO POST
4319 @p X..30 # RTN TO PHONE
4320 X..35 # SRV DESCRIPTION
4321-4323 N1 # DANGEROUS GOODS / AUTH TO LEAVE / SIG REQUIRED
4324-4325 N6,yymmd0 N4,hhmm # DELIVERY DATE/TIME
4326 N6,yymmdd # REL DATE
4330-4333 N6 [X1] # TEMPERATURE
7001 N13 # NSN
7002 X..30 # MEAT CUT
7003 N6,yymmdd N4,hhmm # EXPIRY TIME
7004 N..4 # ACTIVE POTENCY
7005 X..12 # CATCH AREA
7006 N6,yymmdd # FIRST FREEZE DATE
7007 N6,yymmdd [N6,yymmdd] # HARVEST DATE
7008 X..3 # AQUATIC SPECIES
7009 X..10 # FISHING GEAR TYPE
7010 X..2 # PROD METHOD
7011 N6,yymmdd [N4,hhmm] # TEST BY DATE
7020 X..20 # REFURB LOT
7021 X..20 # FUNC STAT
7022 X..20 # REV STAT
7023 X..30 # GIAI - ASSEMBLY
7030-7039 N3 X..27 # PROCESSOR
7040 N1 X1 X1 X1 # UIC+EXT
710 X..20 # NHRN PZN
711 X..20 # NHRN CIP
712 X..20 # NHRN CN
713 X..20 # NHRN DRN
714 X..20 # NHRN AIM
715 X..20 # NHRN NDC
716 X..20 # NHRN AIC
717 X..20 # NHRN
7230-7239 X2 X..28 # CERT
7240 X..20 # PROTOCOL
7241 N2 # AIDC MEDIA TYPE
7242 X..25 # VCN
7250 @p N8,yyyymmdd # DOB
7251 @p N8,yyyymmdd N4,hhmm # DOB TIME
7252 @p N1 # BIO SEX
7253 @p X..40 # FAMILY NAME
7254 @p X..40 # GIVEN NAME
7255 @p X..10 # SUFFIX
7256 @p X..90 # FULL NAME
7257 @p X..70 # PERSON ADDR
7258 @p N1 X1 N1 # BIRTH SEQUENCE
7259 @p X..40 # BABY
8001 N14 # DIMENSIONS
8002 X..20 # CMT No.
8003 N1,zero N13,csum [X..16] # GRAI
8004 X..30 # GIAI
8005 N6 # PRICE PER UNIT
8006 N14,csum N4,pieceoftotal # ITIP
8007 X..34 # IBAN
8008 N8,yymmddhh [N..4] # PROD TIME
8009 X..50 # OPTSEN
8010 Y..30 # CPID
8011 N..12 # CPID SERIAL
8012 X..20 # VERSION
8013 X..25 # GMN
8014 X..25 # MUDI
8017 @p N18,csum # GSRN - PROVIDER
8018 @p N18,csum # GSRN - RECIPIENT
8019 N..10 # SRIN
8020 X..25 # REF No.
8026 N14,csum N4,pieceoftotal # ITIP CONTENT
8030 Z..90 # DIGSIG
8110 X..70 # COUPON
8111 N4 # POINTS
8112 X..70 # COUPON
8200 X..70 # PRODUCT URL
90 X..30 # INTERNAL
91-99 X..90 # INTERNAL
`

// comp is one component of an AI's value.
type comp struct {
	cset     byte // 'N', 'X', 'Y' or 'Z'
	min, max int
	optional bool
	checks   []string
}

// aiSpec describes one Application Identifier.
type aiSpec struct {
	ai       string
	title    string
	comps    []comp
	format   string // "N14", "N13+X..17"
	fixed    int    // value length for a predefined-length AI, else 0
	personal bool
}

// maxLen is the longest value the AI allows.
func (s *aiSpec) maxLen() int {
	n := 0
	for _, c := range s.comps {
		n += c.max
	}
	return n
}

// Lookup tables indexed by the AI's numeric value, one per AI length. GS1
// AIs are prefix-free, so at most one of them matches a given input.
var (
	ai2 [100]*aiSpec
	ai3 [1000]*aiSpec
	ai4 [10000]*aiSpec
)

// predefined is GS1 General Specifications figure 7.8.5-2: element strings
// whose total length (AI plus value) is fixed by the first two digits of the
// AI. Only these may be followed by another element without a separator.
// Indexed by the two-digit prefix; 0 means not predefined.
var predefined = [100]uint8{
	0: 20, 1: 16, 2: 16, 3: 16, 4: 18,
	11: 8, 12: 8, 13: 8, 14: 8, 15: 8, 16: 8, 17: 8, 18: 8, 19: 8,
	20: 4,
	31: 10, 32: 10, 33: 10, 34: 10, 35: 10, 36: 10,
	41: 16,
}

// aiLenByPrefix gives the number of digits of an AI from its first two
// digits, for AIs not in the table.
func aiLenByPrefix(p int) int {
	switch {
	case p >= 23 && p <= 25, p >= 40 && p <= 42, p == 71:
		return 3
	case p >= 31 && p <= 36, p == 39, p == 43, p == 70, p >= 72 && p <= 89:
		return 4
	}
	return 2
}

func init() {
	for _, line := range strings.Split(aiTable, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		title := ""
		if i := strings.Index(line, "#"); i >= 0 {
			title = strings.TrimSpace(line[i+1:])
			line = line[:i]
		}
		f := strings.Fields(line)
		lo, hi := f[0], f[0]
		if i := strings.IndexByte(f[0], '-'); i >= 0 {
			lo, hi = f[0][:i], f[0][i+1:]
		}
		personal := false
		parts := f[1:]
		if strings.HasPrefix(parts[0], "@") {
			personal = strings.Contains(parts[0], "p")
			parts = parts[1:]
		}
		var comps []comp
		var format []string
		for _, p := range parts {
			c := comp{}
			if strings.HasPrefix(p, "[") {
				c.optional = true
				p = strings.Trim(p, "[]")
				// "[N6,yymmdd]" and "[N6],yymmdd" both occur in references.
				p = strings.Replace(p, "]", "", 1)
			}
			fs := strings.Split(p, ",")
			t := fs[0]
			c.cset = t[0]
			if strings.HasPrefix(t[1:], "..") {
				c.min = 1
				c.max, _ = strconv.Atoi(t[3:])
			} else {
				c.max, _ = strconv.Atoi(t[1:])
				c.min = c.max
			}
			c.checks = fs[1:]
			comps = append(comps, c)
			if c.optional {
				format = append(format, "["+t+"]")
			} else {
				format = append(format, t)
			}
		}
		a, _ := strconv.Atoi(lo)
		b, _ := strconv.Atoi(hi)
		for n := a; n <= b; n++ {
			ai := strconv.Itoa(n)
			for len(ai) < len(lo) {
				ai = "0" + ai
			}
			s := &aiSpec{ai: ai, title: title, comps: comps, format: strings.Join(format, "+"), personal: personal}
			p, _ := strconv.Atoi(ai[:2])
			if l := int(predefined[p]); l != 0 {
				s.fixed = l - len(ai)
			}
			switch len(ai) {
			case 2:
				ai2[n] = s
			case 3:
				ai3[n] = s
			default:
				ai4[n] = s
			}
		}
	}
}

// lookupAI finds the known AI at the start of b, or nil.
func lookupAI(b string) *aiSpec {
	if len(b) < 2 || !isDigit(b[0]) || !isDigit(b[1]) {
		return nil
	}
	n := int(b[0]-'0')*10 + int(b[1]-'0')
	if s := ai2[n]; s != nil {
		return s
	}
	if len(b) < 3 || !isDigit(b[2]) {
		return nil
	}
	n = n*10 + int(b[2]-'0')
	if s := ai3[n]; s != nil {
		return s
	}
	if len(b) < 4 || !isDigit(b[3]) {
		return nil
	}
	return ai4[n*10+int(b[3]-'0')]
}

// specFor returns the spec of ai (2 to 4 digits), or nil when unknown.
func specFor(ai string) *aiSpec {
	if len(ai) < 2 || len(ai) > 4 || !isDigits(ai) {
		return nil
	}
	s := lookupAI(ai)
	if s == nil || s.ai != ai {
		return nil
	}
	return s
}

// predefinedLen returns the value length of a predefined-length AI (0 if
// the AI is not one).
func predefinedLen(ai string) int {
	if len(ai) < 2 || !isDigit(ai[0]) || !isDigit(ai[1]) {
		return 0
	}
	l := int(predefined[int(ai[0]-'0')*10+int(ai[1]-'0')])
	if l == 0 || l <= len(ai) {
		return 0
	}
	return l - len(ai)
}

// AITitle returns the short GS1 data title of ai ("GTIN", "BATCH/LOT",
// "USE BY OR EXPIRY"), or "" for an AI this package does not know.
func AITitle(ai string) string {
	if s := specFor(ai); s != nil {
		return s.title
	}
	return ""
}

// KnownAI reports whether ai is a GS1 Application Identifier in this
// package's table.
func KnownAI(ai string) bool { return specFor(ai) != nil }
