package protogen

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/soap/wsdl"
)

// lockWSDL is a one-operation WSDL whose Item type has the given child elements and
// whose Colour enumeration has the given values.
func lockWSDL(t *testing.T, elems, colours []string) *wsdl.Definitions {
	t.Helper()
	var seq, enum strings.Builder
	for _, e := range elems {
		fmt.Fprintf(&seq, `<xs:element name="%s" type="xs:string"/>`, e)
	}
	for _, c := range colours {
		fmt.Fprintf(&enum, `<xs:enumeration value="%s"/>`, c)
	}
	doc := `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:lock" targetNamespace="urn:lock">
  <types><xs:schema targetNamespace="urn:lock" elementFormDefault="qualified">
    <xs:simpleType name="Colour"><xs:restriction base="xs:string">` + enum.String() + `</xs:restriction></xs:simpleType>
    <xs:complexType name="Item"><xs:sequence>` + seq.String() + `<xs:element name="colour" type="tns:Colour"/></xs:sequence></xs:complexType>
    <xs:element name="Put"><xs:complexType><xs:sequence><xs:element name="item" type="tns:Item"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="PutResponse"><xs:complexType><xs:sequence/></xs:complexType></xs:element>
  </xs:schema></types>
  <message name="In"><part name="p" element="tns:Put"/></message>
  <message name="Out"><part name="p" element="tns:PutResponse"/></message>
  <portType name="P"><operation name="Put"><input message="tns:In"/><output message="tns:Out"/></operation></portType>
  <binding name="B" type="tns:P"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Put"><soap:operation soapAction="urn:lock/Put"/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
  </binding>
  <service name="Lock"><port name="LockPort" binding="tns:B"><soap:address location="http://localhost/lock"/></port></service>
</definitions>`
	d, err := wsdl.Parse([]byte(doc), "", wsdl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func fieldNumbers(fd protoreflect.FileDescriptor, msg string) map[string]int {
	out := map[string]int{}
	fs := fd.Messages().ByName(protoreflect.Name(msg)).Fields()
	for i := 0; i < fs.Len(); i++ {
		out[string(fs.Get(i).Name())] = int(fs.Get(i).Number())
	}
	return out
}

func enumNumbers(fd protoreflect.FileDescriptor, enum string) map[string]int {
	out := map[string]int{}
	vs := fd.Enums().ByName(protoreflect.Name(enum)).Values()
	for i := 0; i < vs.Len(); i++ {
		out[string(vs.Get(i).Name())] = int(vs.Get(i).Number())
	}
	return out
}

// TestLockKeepsNumbers regenerates after the WSDL gains and loses elements and enum
// values: kept names keep their numbers, removed ones are reserved, new ones get fresh
// numbers, and a name that comes back gets its old number.
func TestLockKeepsNumbers(t *testing.T) {
	opts := Options{Package: "lock.v1"}
	f1, fd1 := generateChecked(t, lockWSDL(t, []string{"a", "b", "c"}, []string{"RED", "GREEN"}), opts)
	v1 := fieldNumbers(fd1, "Item")
	if want := map[string]int{"a": 1, "b": 2, "c": 3, "colour": 4}; fmt.Sprint(v1) != fmt.Sprint(want) {
		t.Fatalf("first generation numbers %v, want %v", v1, want)
	}

	// Round-trip the lock through its file format, as the CLI does.
	lock, err := ParseLock(f1.Lock.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	opts.Lock = lock
	f2, fd2 := generateChecked(t, lockWSDL(t, []string{"new", "a", "c", "d"}, []string{"BLUE", "GREEN"}), opts)
	v2 := fieldNumbers(fd2, "Item")
	for _, kept := range []string{"a", "c", "colour"} {
		if v2[kept] != v1[kept] {
			t.Errorf("field %s renumbered %d → %d", kept, v1[kept], v2[kept])
		}
	}
	if v2["new"] <= 4 || v2["d"] <= 4 || v2["new"] == v2["d"] {
		t.Errorf("new fields got numbers %d and %d; want fresh numbers above 4", v2["new"], v2["d"])
	}
	rr := fd2.Messages().ByName("Item").ReservedRanges()
	if rr.Len() != 1 || rr.Get(0)[0] != 2 || !fd2.Messages().ByName("Item").ReservedNames().Has("b") {
		t.Errorf("removed field b: want number 2 and name reserved")
	}
	e1, e2 := enumNumbers(fd1, "Colour"), enumNumbers(fd2, "Colour")
	if e2["COLOUR_GREEN"] != e1["COLOUR_GREEN"] || e2["COLOUR_BLUE"] <= 2 || e2["COLOUR_UNSPECIFIED"] != 0 {
		t.Errorf("enum numbers %v after %v", e2, e1)
	}
	if !fd2.Enums().ByName("Colour").ReservedNames().Has("COLOUR_RED") {
		t.Errorf("removed enum value COLOUR_RED is not reserved")
	}

	// b comes back: it gets 2 again and is no longer reserved.
	opts.Lock = f2.Lock
	_, fd3 := generateChecked(t, lockWSDL(t, []string{"a", "b", "c", "d"}, []string{"RED", "BLUE", "GREEN"}), opts)
	v3 := fieldNumbers(fd3, "Item")
	if v3["b"] != 2 || v3["d"] != v2["d"] || v3["a"] != 1 {
		t.Errorf("third generation numbers %v", v3)
	}
	if fd3.Messages().ByName("Item").ReservedNames().Has("b") {
		t.Errorf("b is live again but still reserved")
	}
	if !fd3.Messages().ByName("Item").ReservedNames().Has("new") {
		t.Errorf("removed field new is not reserved")
	}
	if e3 := enumNumbers(fd3, "Colour"); e3["COLOUR_RED"] != e1["COLOUR_RED"] {
		t.Errorf("COLOUR_RED came back as %d, was %d", e3["COLOUR_RED"], e1["COLOUR_RED"])
	}
}

func TestParseLockRejectsOtherVersions(t *testing.T) {
	if _, err := ParseLock([]byte(`{"version": 99}`)); err == nil {
		t.Error("version 99 accepted")
	}
	if _, err := ParseLock([]byte(`{`)); err == nil {
		t.Error("broken JSON accepted")
	}
}
