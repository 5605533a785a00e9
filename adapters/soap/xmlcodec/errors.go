package xmlcodec

import (
	"errors"
	"fmt"
)

// ErrorKind classifies codec errors so callers can map them to statuses.
type ErrorKind int

// Kinds of codec errors.
const (
	// ErrSyntax: the input is not well-formed (namespace-aware) XML, or ends early.
	ErrSyntax ErrorKind = iota + 1
	// ErrForbidden: the input carries a DOCTYPE, an entity declaration or
	// another construct the decoder refuses.
	ErrForbidden
	// ErrTooLarge: the input is longer than Limits.MaxBytes.
	ErrTooLarge
	// ErrTooDeep: elements nest deeper than Limits.MaxDepth.
	ErrTooDeep
	// ErrTextTooLarge: one text node or attribute value is longer than
	// Limits.MaxTextBytes.
	ErrTextTooLarge
	// ErrUnknown: an element the schema does not declare (strict decoding),
	// or text where the schema allows none.
	ErrUnknown
	// ErrValue: a value does not fit its field (decoding), or a field's value
	// cannot be written as its XSD type (encoding).
	ErrValue
)

// String names the kind in snake case ("syntax", "too_deep", ...).
func (k ErrorKind) String() string {
	switch k {
	case ErrSyntax:
		return "syntax"
	case ErrForbidden:
		return "forbidden"
	case ErrTooLarge:
		return "too_large"
	case ErrTooDeep:
		return "too_deep"
	case ErrTextTooLarge:
		return "text_too_large"
	case ErrUnknown:
		return "unknown_element"
	case ErrValue:
		return "invalid_value"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a codec error: what went wrong and where, as a path of local
// element names from the document's root ("/Envelope/Body/GetQuote/foo").
type Error struct {
	// Kind classifies the error.
	Kind ErrorKind
	// Path is where the error was found ("" when before the root element).
	Path string
	// Msg says what is wrong, without quoting values.
	Msg string
}

// Error formats the error as "path: message".
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// KindOf returns the kind of a codec error in err's chain, or 0.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func errorf(kind ErrorKind, path, format string, args ...any) *Error {
	return &Error{Kind: kind, Path: path, Msg: fmt.Sprintf(format, args...)}
}
