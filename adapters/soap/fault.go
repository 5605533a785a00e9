package soap

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
)

// fault is a SOAP 1.1 or 1.2 fault.
type fault struct {
	// code is faultcode (1.1) or Code/Value (1.2); subcodes are 1.2's
	// Subcode/Value chain.
	code     xml.Name
	subcodes []xml.Name
	// reason is faultstring (1.1) or the first Reason/Text (1.2).
	reason string
	// actor is faultactor (1.1) or Node (1.2); role is 1.2's Role.
	actor, role string
	detail      *xmlcodec.Node
}

// maxFaultText bounds the fault strings quoted in statuses.
const maxFaultText = 1 << 10

// readFault reads a Fault element (the decoder is just inside it).
func readFault(d *xmlcodec.Decoder, v *envVersion) (*fault, error) {
	f := &fault{}
	d.Lax = true // fault extensions are skipped
	for {
		c, err := d.Child()
		if err != nil {
			return nil, err
		}
		if c == nil {
			break
		}
		switch {
		case v == soap11 && c.Name.Local == "faultcode" && c.Name.Space == "":
			if f.code, err = d.QName(); err != nil {
				return nil, err
			}
		case v == soap11 && c.Name.Local == "faultstring" && c.Name.Space == "":
			f.reason, err = d.Text()
		case v == soap11 && c.Name.Local == "faultactor" && c.Name.Space == "":
			f.actor, err = d.Text()
		case v == soap11 && c.Name.Local == "detail" && c.Name.Space == "",
			v == soap12 && c.Name == v.qname("Detail"):
			f.detail, err = d.Tree(c)
		case v == soap12 && c.Name == v.qname("Code"):
			err = readCode12(d, v, f, 0)
		case v == soap12 && c.Name == v.qname("Reason"):
			err = readReason12(d, v, f)
		case v == soap12 && c.Name == v.qname("Node"):
			f.actor, err = d.Text()
		case v == soap12 && c.Name == v.qname("Role"):
			f.role, err = d.Text()
		default:
			err = d.Skip()
		}
		if err != nil {
			return nil, err
		}
	}
	if f.code.Local == "" {
		return nil, &xmlcodec.Error{Kind: xmlcodec.ErrUnknown, Path: d.Path(), Msg: "the SOAP Fault has no fault code"}
	}
	f.reason = clipText(strings.TrimSpace(f.reason))
	f.actor = clipText(strings.TrimSpace(f.actor))
	f.role = clipText(strings.TrimSpace(f.role))
	return f, nil
}

// readCode12 reads a 1.2 Code or Subcode: Value then an optional Subcode.
func readCode12(d *xmlcodec.Decoder, v *envVersion, f *fault, depth int) error {
	for {
		c, err := d.Child()
		if err != nil || c == nil {
			return err
		}
		switch {
		case c.Name == v.qname("Value"):
			n, err := d.QName()
			if err != nil {
				return err
			}
			if depth == 0 {
				f.code = n
			} else {
				f.subcodes = append(f.subcodes, n)
			}
		case c.Name == v.qname("Subcode"):
			if err := readCode12(d, v, f, depth+1); err != nil {
				return err
			}
		default:
			if err := d.Skip(); err != nil {
				return err
			}
		}
	}
}

// readReason12 keeps the first Reason/Text.
func readReason12(d *xmlcodec.Decoder, v *envVersion, f *fault) error {
	for {
		c, err := d.Child()
		if err != nil || c == nil {
			return err
		}
		if c.Name == v.qname("Text") && f.reason == "" {
			if f.reason, err = d.Text(); err != nil {
				return err
			}
			continue
		}
		if err := d.Skip(); err != nil {
			return err
		}
	}
}

func clipText(s string) string {
	if len(s) <= maxFaultText {
		return s
	}
	s = s[:maxFaultText]
	return strings.ToValidUTF8(s, "") + "..."
}

// faultCode maps a fault to a gRPC code.
func faultCode(f *fault) codes.Code {
	base, _, _ := strings.Cut(f.code.Local, ".") // 1.1 dotted codes: Client.Authentication
	switch base {
	case "Client", "Sender":
		return codes.InvalidArgument
	case "Server", "Receiver":
		if f.saysUnavailable() {
			return codes.Unavailable
		}
		return codes.Internal
	case "VersionMismatch":
		return codes.FailedPrecondition
	case "MustUnderstand", "DataEncodingUnknown":
		return codes.InvalidArgument
	}
	return codes.Internal
}

// unavailableWords are what a server fault says when retrying later may help.
var unavailableWords = []string{"unavailable", "busy", "overloaded", "temporarily"}

func (f *fault) saysUnavailable() bool {
	texts := []string{f.reason, f.code.Local}
	for _, s := range f.subcodes {
		texts = append(texts, s.Local)
	}
	for _, t := range texts {
		t = strings.ToLower(t)
		for _, w := range unavailableWords {
			if strings.Contains(t, w) {
				return true
			}
		}
	}
	return false
}

// faultError builds the status of a fault: its code by meaning, ErrorInfo
// reason SOAP_FAULT, and a google.protobuf.Struct with the fault's parts
// (code, subcodes, reason, actor, role, detail as JSON).
func (e *endpoint) faultError(resp *http.Response, f *fault) error {
	f.reason = e.a.red.String(f.reason)
	meta := e.meta()
	meta["faultcode"] = f.code.Local
	meta["http_status"] = strconv.Itoa(resp.StatusCode)
	meta["soap_version"] = e.env.name
	fields := map[string]*structpb.Value{
		"code":           structpb.NewStringValue(f.code.Local),
		"code_namespace": structpb.NewStringValue(f.code.Space),
		"reason":         structpb.NewStringValue(f.reason),
	}
	if len(f.subcodes) > 0 {
		var subs []*structpb.Value
		for _, s := range f.subcodes {
			subs = append(subs, structpb.NewStringValue(xmlcodec.FormatQName(s)))
		}
		fields["subcodes"] = structpb.NewListValue(&structpb.ListValue{Values: subs})
		meta["faultsubcode"] = f.subcodes[0].Local
	}
	if f.actor != "" {
		fields["actor"] = structpb.NewStringValue(f.actor)
	}
	if f.role != "" {
		fields["role"] = structpb.NewStringValue(f.role)
	}
	if f.detail != nil {
		fields["detail"] = f.detail.Value()
	}
	msg := fmt.Sprintf("upstream %s returned SOAP fault %s", e.a.u.Name, f.code.Local)
	if f.reason != "" {
		msg += ": " + f.reason
	}
	return bridge.Error(faultCode(f), reason.SOAPFault, meta, msg, &structpb.Struct{Fields: fields})
}
