package xmlcodec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Lexical forms of the XSD date, time and duration types (XML Schema 1.1 Part 2,
// §3.3.6-3.3.14), checked on output: a request carries only values in the type's
// lexical space. Years have at least four digits (0000 is accepted, as XSD 1.1
// does); fractional seconds have any number of digits; 24:00:00 is midnight at the
// end of the day; zones run from -14:00 to +14:00.
const (
	yearLex  = `-?(?:[1-9][0-9]{3,}|0[0-9]{3})`
	monthLex = `(0[1-9]|1[0-2])`
	dayLex   = `(0[1-9]|[12][0-9]|3[01])`
	timeLex  = `(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?|24:00:00(?:\.0+)?)`
	zoneLex  = `(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?`
)

var (
	dateTimeRE   = regexp.MustCompile(`^(` + yearLex + `)-` + monthLex + `-` + dayLex + `T` + timeLex + zoneLex + `$`)
	dateRE       = regexp.MustCompile(`^(` + yearLex + `)-` + monthLex + `-` + dayLex + zoneLex + `$`)
	timeRE       = regexp.MustCompile(`^` + timeLex + zoneLex + `$`)
	gYearMonthRE = regexp.MustCompile(`^` + yearLex + `-` + monthLex + zoneLex + `$`)
	gYearRE      = regexp.MustCompile(`^` + yearLex + zoneLex + `$`)
	gMonthDayRE  = regexp.MustCompile(`^()--` + monthLex + `-` + dayLex + zoneLex + `$`)
	gDayRE       = regexp.MustCompile(`^---` + dayLex + zoneLex + `$`)
	// gMonth: also --MM--, the form of XSD 1.0 before its erratum, still written.
	gMonthRE   = regexp.MustCompile(`^--` + monthLex + `(?:--)?` + zoneLex + `$`)
	durationRE = regexp.MustCompile(`^-?P(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?(?:T(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?$`)
)

// checkDateLike reports whether s (collapsed) is in the lexical space of the date,
// time or duration type lex.
func checkDateLike(lex xsdLexical, s string) bool {
	switch lex {
	case lexDateTime:
		return validDay(dateTimeRE.FindStringSubmatch(s))
	case lexDate:
		return validDay(dateRE.FindStringSubmatch(s))
	case lexTime:
		return timeRE.MatchString(s)
	case lexGYearMonth:
		return gYearMonthRE.MatchString(s)
	case lexGYear:
		return gYearRE.MatchString(s)
	case lexGMonthDay:
		return validDay(gMonthDayRE.FindStringSubmatch(s))
	case lexGDay:
		return gDayRE.MatchString(s)
	case lexGMonth:
		return gMonthRE.MatchString(s)
	case lexDuration:
		// At least one component, and none of "P", "-P", "PT", "P1DT".
		return durationRE.MatchString(s) && !strings.HasSuffix(s, "P") && !strings.HasSuffix(s, "T")
	}
	return true
}

// validDay checks the day of a date match (year, month, day submatches; the year
// empty for gMonthDay, which allows February 29) against its month's length.
func validDay(m []string) bool {
	if m == nil {
		return false
	}
	year, month, day := m[1], m[2], m[3]
	d, _ := strconv.Atoi(day)
	switch month {
	case "04", "06", "09", "11":
		return d <= 30
	case "02":
		return d <= 28 || d == 29 && (year == "" || leapYear(year))
	}
	return true
}

// leapYear applies the Gregorian rule to a year of any number of digits: 10000 is a
// multiple of 400, so the last four digits decide. BCE years (negative) are not
// checked.
func leapYear(year string) bool {
	if strings.HasPrefix(year, "-") {
		return true
	}
	y, _ := strconv.Atoi(year[len(year)-4:])
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

// Tolerant reading (see the package documentation): replies are read more
// leniently than requests are written, since many servers print numbers with their
// platform's float formatting, but never at the cost of precision: decimals and
// integers are rewritten from scientific notation by moving the point in the digits
// as sent, never through a float.

// maxDecimalExponent bounds the exponent of a decimal in scientific notation, so that
// a reply cannot make the reader build a huge string.
const maxDecimalExponent = 1000

var sciRE = regexp.MustCompile(`^([+-]?)([0-9]*)(?:\.([0-9]*))?[eE]([+-]?[0-9]+)$`)

// tolerantDecimal rewrites a decimal in plain or scientific notation as an
// xsd:decimal without changing its digits; ok is false for anything else.
func tolerantDecimal(s string) (string, bool) {
	if decimalRE.MatchString(s) {
		return s, true
	}
	m := sciRE.FindStringSubmatch(s)
	if m == nil || m[2]+m[3] == "" {
		return "", false
	}
	exp, err := strconv.Atoi(m[4])
	if err != nil || exp > maxDecimalExponent || exp < -maxDecimalExponent {
		return "", false
	}
	sign, digits, point := m[1], m[2]+m[3], len(m[2])+exp
	if sign == "+" {
		sign = ""
	}
	var out string
	switch {
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits))
	default:
		out = digits[:point] + "." + digits[point:]
	}
	// Leading zeros of the integer part go, one is kept before the point.
	intPart, frac, hasFrac := strings.Cut(out, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out = sign + intPart
	if hasFrac {
		out += "." + frac
	}
	return out, true
}

// tolerantInteger rewrites an integral value written as an integer, a decimal or in
// scientific notation as an integer; ok is false for anything else.
func tolerantInteger(s string) (string, bool) {
	if integerRE.MatchString(s) {
		return s, true
	}
	d, ok := tolerantDecimal(s)
	if !ok {
		return "", false
	}
	i, frac, _ := strings.Cut(d, ".")
	if strings.Trim(frac, "0") != "" {
		return "", false
	}
	return i, true
}

// floatSpecials are the non-XSD spellings of the IEEE special values accepted on
// input, by lower case.
var floatSpecials = map[string]string{
	"nan": "NaN", "+nan": "NaN", "-nan": "NaN",
	"inf": "INF", "+inf": "INF", "infinity": "INF", "+infinity": "INF",
	"-inf": "-INF", "-infinity": "-INF",
}

// lexicalName names the XSD type a lexical kind checks, for errors.
func lexicalName(lex xsdLexical) string {
	if n, ok := lexicalNames[lex]; ok {
		return n
	}
	return fmt.Sprintf("lexical(%d)", int(lex))
}

var lexicalNames = map[xsdLexical]string{
	lexDecimal: "xsd:decimal", lexInteger: "xsd:integer", lexUnsigned: "xsd:nonNegativeInteger",
	lexDateTime: "xsd:dateTime", lexDate: "xsd:date", lexTime: "xsd:time",
	lexGYearMonth: "xsd:gYearMonth", lexGYear: "xsd:gYear", lexGMonthDay: "xsd:gMonthDay",
	lexGDay: "xsd:gDay", lexGMonth: "xsd:gMonth", lexDuration: "xsd:duration",
}
