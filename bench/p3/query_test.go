package p3

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
	"github.com/protobridge/protobridge/bench/p3/sforce"
)

// The large reply: a Salesforce-style queryResponse (testdata/sforce-query.wsdl)
// holding one page of queryRecords Contact records, each with its Account,
// two addresses, nil fields and its Id written twice, as the partner API
// writes it. One data set (queryData) gives the wire body and the values
// each side encodes.
const (
	queryRecords  = 200
	queryAccounts = 40
	sforceWSDL    = "testdata/sforce-query.wsdl"
	enterpriseNS  = "urn:enterprise.soap.sforce.com"
	sobjectNS     = "urn:sobject.enterprise.soap.sforce.com"
)

type sfAddress struct {
	City, Country, CountryCode string
	Latitude, Longitude        float64
	PostalCode, State, Street  string
}

type sfAccount struct {
	ID, Name, AccountNumber, Industry string
	AnnualRevenue                     float64
	NumberOfEmployees                 int32
	Billing                           sfAddress
	OwnerID                           string
}

type sfContact struct {
	ID, AccountID                          string
	Account                                sfAccount
	Salutation, FirstName, LastName, Name  string
	Title                                  string
	TitleNil                               bool // <Title xsi:nil="true"/>
	Email, Phone, MobilePhone              string
	MobilePhoneNil                         bool // <MobilePhone xsi:nil="true"/>
	Mailing                                sfAddress
	LeadSource                             string
	HasOptedOutOfEmail, DoNotCall          bool
	LifetimeValue                          float64
	OwnerID, CreatedDate, LastModifiedDate string
}

// sfID is an 18-character Salesforce-style record ID with the object's key
// prefix (001 Account, 003 Contact, 005 User).
func sfID(prefix string, n int) string {
	return fmt.Sprintf("%s5g000%07dQAA", prefix, n)
}

// queryData is the page of records, deterministic.
func queryData() []sfContact {
	first := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Leslie", "Frances", "John", "Hedy", "Niklaus"}
	last := []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Perlman", "Lamport", "Allen", "Backus", "Lamarr", "Wirth", "O'Neil", "Müller"}
	titles := []string{"VP Sales", "Buyer", "CFO", "Procurement Manager", "IT Director", "Office Manager", "Head of Operations"}
	industries := []string{"Manufacturing", "Retail", "Technology", "Healthcare", "Energy", "Logistics"}
	sources := []string{"Web", "Phone Inquiry", "Partner Referral", "Trade Show", "Purchased List"}
	places := []sfAddress{
		{"Berlin", "Germany", "DE", 52.520008, 13.404954, "10115", "Berlin", "Invalidenstraße 117"},
		{"San Francisco", "United States", "US", 37.7749, -122.4194, "94105", "CA", "415 Mission Street\nFloor 3"},
		{"Lyon", "France", "FR", 45.764043, 4.835659, "69002", "Auvergne-Rhône-Alpes", "12 Rue de la République"},
		{"Toronto", "Canada", "CA", 43.653226, -79.383184, "M5H 2N2", "ON", "100 King Street West"},
		{"Osaka", "Japan", "JP", 34.693738, 135.502165, "530-0001", "Osaka", "3-1-3 Umeda, Kita-ku"},
	}
	accounts := make([]sfAccount, queryAccounts)
	for i := range accounts {
		accounts[i] = sfAccount{
			ID:                sfID("001", 1000+i),
			Name:              fmt.Sprintf("%s & %s %s", last[i%len(last)], last[(i+5)%len(last)], []string{"GmbH", "Inc.", "SARL", "Ltd.", "KK"}[i%5]),
			AccountNumber:     fmt.Sprintf("CD%06d", 355000+i*7),
			Industry:          industries[i%len(industries)],
			AnnualRevenue:     float64(250000*(i+1)) * 12.5,
			NumberOfEmployees: int32(12 + i*37),
			Billing:           places[i%len(places)],
			OwnerID:           sfID("005", 20+i%6),
		}
	}
	created := time.Date(2024, 3, 14, 9, 26, 53, 0, time.UTC)
	out := make([]sfContact, queryRecords)
	for i := range out {
		f, l := first[i%len(first)], last[(i*7)%len(last)]
		c := sfContact{
			ID:                 sfID("003", 50000+i),
			Account:            accounts[i%queryAccounts],
			Salutation:         []string{"Ms.", "Mr.", "Dr.", "Prof."}[i%4],
			FirstName:          f,
			LastName:           l,
			Name:               f + " " + l,
			Title:              titles[i%len(titles)],
			TitleNil:           i%11 == 3,
			Email:              strings.ToLower(strings.ReplaceAll(f+"."+l, "'", "")) + "@example.com",
			Phone:              fmt.Sprintf("+49 30 %07d", 2400000+i*13),
			MobilePhone:        fmt.Sprintf("+49 170 %07d", 5100000+i*29),
			MobilePhoneNil:     i%3 == 1,
			Mailing:            places[(i+2)%len(places)],
			LeadSource:         sources[i%len(sources)],
			HasOptedOutOfEmail: i%5 == 0,
			DoNotCall:          i%7 == 0,
			LifetimeValue:      float64(i*1375) + 0.25,
			OwnerID:            sfID("005", 20+i%6),
			CreatedDate:        created.Add(time.Duration(i) * 7 * time.Hour).Format("2006-01-02T15:04:05.000Z"),
			LastModifiedDate:   created.Add(time.Duration(i)*7*time.Hour + 90*24*time.Hour).Format("2006-01-02T15:04:05.000Z"),
		}
		c.AccountID = c.Account.ID
		if c.TitleNil {
			c.Title = ""
		}
		if c.MobilePhoneNil {
			c.MobilePhone = ""
		}
		out[i] = c
	}
	return out
}

// queryResponseXML writes the reply body as Salesforce's API writes it:
// the API namespace as the default, sObject fields prefixed sf:, nulls as
// xsi:nil, and (with xsiType) xsi:type="sf:Contact" on each record, which
// both sides ignore on input and neither writes.
func queryResponseXML(recs []sfContact, xsiType bool) []byte {
	var b strings.Builder
	esc := func(s string) string {
		var sb strings.Builder
		_ = xml.EscapeText(&sb, []byte(s))
		return sb.String()
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	el := func(name, text string) { fmt.Fprintf(&b, "<%s>%s</%s>", name, esc(text), name) }
	nilEl := func(name string) { fmt.Fprintf(&b, `<%s xsi:nil="true"/>`, name) }
	addr := func(name string, a sfAddress) {
		fmt.Fprintf(&b, "<%s>", name)
		el("city", a.City)
		el("country", a.Country)
		el("countryCode", a.CountryCode)
		el("latitude", num(a.Latitude))
		el("longitude", num(a.Longitude))
		el("postalCode", a.PostalCode)
		el("state", a.State)
		el("street", a.Street)
		fmt.Fprintf(&b, "</%s>", name)
	}
	b.WriteString(`<queryResponse xmlns="` + enterpriseNS + `" xmlns:sf="` + sobjectNS + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`)
	b.WriteString(`<result><done>true</done><queryLocator xsi:nil="true"/>`)
	for _, c := range recs {
		if xsiType {
			b.WriteString(`<records xsi:type="sf:Contact">`)
		} else {
			b.WriteString(`<records>`)
		}
		el("sf:type", "Contact")
		el("sf:Id", c.ID)
		el("sf:Id", c.ID)
		el("sf:AccountId", c.AccountID)
		a := c.Account
		b.WriteString(`<sf:Account>`)
		el("sf:type", "Account")
		el("sf:Id", a.ID)
		el("sf:Id", a.ID)
		el("sf:Name", a.Name)
		el("sf:AccountNumber", a.AccountNumber)
		el("sf:Industry", a.Industry)
		el("sf:AnnualRevenue", num(a.AnnualRevenue))
		el("sf:NumberOfEmployees", strconv.Itoa(int(a.NumberOfEmployees)))
		addr("sf:BillingAddress", a.Billing)
		el("sf:OwnerId", a.OwnerID)
		b.WriteString(`</sf:Account>`)
		el("sf:Salutation", c.Salutation)
		el("sf:FirstName", c.FirstName)
		el("sf:LastName", c.LastName)
		el("sf:Name", c.Name)
		if c.TitleNil {
			nilEl("sf:Title")
		} else {
			el("sf:Title", c.Title)
		}
		el("sf:Email", c.Email)
		el("sf:Phone", c.Phone)
		if c.MobilePhoneNil {
			nilEl("sf:MobilePhone")
		} else {
			el("sf:MobilePhone", c.MobilePhone)
		}
		addr("sf:MailingAddress", c.Mailing)
		el("sf:LeadSource", c.LeadSource)
		el("sf:HasOptedOutOfEmail", strconv.FormatBool(c.HasOptedOutOfEmail))
		el("sf:DoNotCall", strconv.FormatBool(c.DoNotCall))
		el("sf:Lifetime_Value__c", num(c.LifetimeValue))
		el("sf:OwnerId", c.OwnerID)
		el("sf:CreatedDate", c.CreatedDate)
		el("sf:LastModifiedDate", c.LastModifiedDate)
		b.WriteString(`</records>`)
	}
	fmt.Fprintf(&b, "<size>%d</size></result></queryResponse>", len(recs))
	return []byte(b.String())
}

// queryResponseJSON is the reply as protojson of the message `protobridge
// gen wsdl` generates for queryResponse (field names as generated; nil
// elements as their _nil markers).
func queryResponseJSON(recs []sfContact) string {
	addr := func(a sfAddress) map[string]any {
		return map[string]any{"city": a.City, "country": a.Country, "country_code": a.CountryCode, "latitude": a.Latitude,
			"longitude": a.Longitude, "postal_code": a.PostalCode, "state": a.State, "street": a.Street}
	}
	records := make([]any, len(recs))
	for i, c := range recs {
		a := c.Account
		r := map[string]any{
			"type": "Contact", "id": []string{c.ID, c.ID}, "account_id": c.AccountID,
			"account": map[string]any{
				"type": "Account", "id": []string{a.ID, a.ID}, "name": a.Name, "account_number": a.AccountNumber,
				"industry": a.Industry, "annual_revenue": a.AnnualRevenue, "number_of_employees": a.NumberOfEmployees,
				"billing_address": addr(a.Billing), "owner_id": a.OwnerID,
			},
			"salutation": c.Salutation, "first_name": c.FirstName, "last_name": c.LastName, "name": c.Name,
			"email": c.Email, "phone": c.Phone, "mailing_address": addr(c.Mailing), "lead_source": c.LeadSource,
			"has_opted_out_of_email": c.HasOptedOutOfEmail, "do_not_call": c.DoNotCall, "lifetime_value_c": c.LifetimeValue,
			"owner_id": c.OwnerID, "created_date": c.CreatedDate, "last_modified_date": c.LastModifiedDate,
		}
		if c.TitleNil {
			r["title_nil"] = true
		} else {
			r["title"] = c.Title
		}
		if c.MobilePhoneNil {
			r["mobile_phone_nil"] = true
		} else {
			r["mobile_phone"] = c.MobilePhone
		}
		records[i] = r
	}
	b, err := json.Marshal(map[string]any{"result": map[string]any{
		"done": true, "query_locator_nil": true, "records": records, "size_value": len(recs),
	}})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// queryGowsdl is the reply as the gowsdl-generated structs (p3/sforce) hold
// it. gowsdl has no nil: a nil element is an empty one.
func queryGowsdl(recs []sfContact) *sforce.QueryResponse {
	str := func(s string) *string { return &s }
	id := func(s string) *sforce.ID { v := sforce.ID(s); return &v }
	f64 := func(f float64) *float64 { return &f }
	addr := func(a sfAddress) *sforce.Address {
		return &sforce.Address{City: str(a.City), Country: str(a.Country), CountryCode: str(a.CountryCode), Latitude: f64(a.Latitude),
			Longitude: f64(a.Longitude), PostalCode: str(a.PostalCode), State: str(a.State), Street: str(a.Street)}
	}
	dt := func(s string) soap.XSDDateTime {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return soap.CreateXsdDateTime(t, true)
	}
	out := &sforce.QueryResponse{Result: &sforce.QueryResult{Done: true, QueryLocator: str(""), Size: int32(len(recs))}}
	for _, c := range recs {
		a := c.Account
		n := a.NumberOfEmployees
		out.Result.Records = append(out.Result.Records, &sforce.Contact{
			Type_: "Contact", Id: []*sforce.ID{id(c.ID), id(c.ID)}, AccountId: id(c.AccountID),
			Account: &sforce.Account{
				Type_: "Account", Id: []*sforce.ID{id(a.ID), id(a.ID)}, Name: a.Name, AccountNumber: str(a.AccountNumber),
				Industry: str(a.Industry), AnnualRevenue: f64(a.AnnualRevenue), NumberOfEmployees: &n,
				BillingAddress: addr(a.Billing), OwnerId: id(a.OwnerID),
			},
			Salutation: str(c.Salutation), FirstName: str(c.FirstName), LastName: c.LastName, Name: c.Name,
			Title: str(c.Title), Email: str(c.Email), Phone: str(c.Phone), MobilePhone: str(c.MobilePhone),
			MailingAddress: addr(c.Mailing), LeadSource: str(c.LeadSource), HasOptedOutOfEmail: c.HasOptedOutOfEmail,
			DoNotCall: c.DoNotCall, Lifetime_Value__c: f64(c.LifetimeValue), OwnerId: id(c.OwnerID),
			CreatedDate: dt(c.CreatedDate), LastModifiedDate: dt(c.LastModifiedDate),
		})
	}
	return out
}

// gowsdlRecords reads the gowsdl structs back into the data set's form, to
// compare what gowsdl decoded (and what it was built from) with the data.
// Nil fields read as empty, as gowsdl holds them.
func gowsdlRecords(tb testing.TB, r *sforce.QueryResponse) []sfContact {
	tb.Helper()
	if r.Result == nil || !r.Result.Done || r.Result.Size != int32(len(r.Result.Records)) {
		tb.Fatalf("gowsdl: result %+v", r.Result)
	}
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	id := func(ids []*sforce.ID) string {
		if len(ids) != 2 || ids[0] == nil || ids[1] == nil || *ids[0] != *ids[1] {
			tb.Fatalf("gowsdl: Ids %v, want the same one twice", ids)
		}
		return string(*ids[0])
	}
	oneID := func(p *sforce.ID) string {
		if p == nil {
			return ""
		}
		return string(*p)
	}
	f := func(p *float64) float64 {
		if p == nil {
			return -1
		}
		return *p
	}
	addr := func(a *sforce.Address) sfAddress {
		if a == nil {
			return sfAddress{}
		}
		return sfAddress{s(a.City), s(a.Country), s(a.CountryCode), f(a.Latitude), f(a.Longitude), s(a.PostalCode), s(a.State), s(a.Street)}
	}
	dt := func(d soap.XSDDateTime) string { return d.ToGoTime().UTC().Format("2006-01-02T15:04:05.000Z") }
	var out []sfContact
	for _, c := range r.Result.Records {
		a := c.Account
		if c.Type_ != "Contact" || a == nil || a.Type_ != "Account" || a.NumberOfEmployees == nil {
			tb.Fatalf("gowsdl: record %+v", c)
		}
		out = append(out, sfContact{
			ID: id(c.Id), AccountID: oneID(c.AccountId),
			Account: sfAccount{ID: id(a.Id), Name: a.Name, AccountNumber: s(a.AccountNumber), Industry: s(a.Industry),
				AnnualRevenue: f(a.AnnualRevenue), NumberOfEmployees: *a.NumberOfEmployees, Billing: addr(a.BillingAddress), OwnerID: oneID(a.OwnerId)},
			Salutation: s(c.Salutation), FirstName: s(c.FirstName), LastName: c.LastName, Name: c.Name, Title: s(c.Title),
			Email: s(c.Email), Phone: s(c.Phone), MobilePhone: s(c.MobilePhone), Mailing: addr(c.MailingAddress),
			LeadSource: s(c.LeadSource), HasOptedOutOfEmail: c.HasOptedOutOfEmail, DoNotCall: c.DoNotCall,
			LifetimeValue: f(c.Lifetime_Value__c), OwnerID: oneID(c.OwnerId),
			CreatedDate: dt(c.CreatedDate), LastModifiedDate: dt(c.LastModifiedDate),
		})
	}
	return out
}

// withoutNil is the data as gowsdl can hold it: nil fields are empty.
func withoutNil(recs []sfContact) []sfContact {
	out := make([]sfContact, len(recs))
	for i, c := range recs {
		c.TitleNil, c.MobilePhoneNil = false, false
		out[i] = c
	}
	return out
}

// query is the large reply on both sides: protobridge's body (plan over the
// generated descriptors, message, wire bytes) and gowsdl's value.
type query struct {
	recs      []sfContact
	pb        body
	gw        *sforce.QueryResponse
	wire      []byte // as Salesforce sends it, xsi:type on each record
	wirePlain []byte // the same without xsi:type, as both sides write it
}

func newQuery(tb testing.TB) *query {
	tb.Helper()
	md := generate(tb, sforceWSDL, "sforce.v1", "Query")
	recs := queryData()
	q := &query{
		recs:      recs,
		wire:      queryResponseXML(recs, true),
		wirePlain: queryResponseXML(recs, false),
		gw:        queryGowsdl(recs),
	}
	q.pb = newBody(tb, md.Output(), xml.Name{Space: enterpriseNS, Local: "queryResponse"}, queryResponseJSON(recs), q.wire)
	if n := q.pb.msg.Get(md.Output().Fields().ByName("result")).Message().Get(resultRecords(md.Output())).List().Len(); n != queryRecords {
		tb.Fatalf("protobridge's message holds %d records, want %d", n, queryRecords)
	}
	return q
}

func resultRecords(resp protoreflect.MessageDescriptor) protoreflect.FieldDescriptor {
	return resp.Fields().ByName("result").Message().Fields().ByName("records")
}

// protobridge encodes the reply and decodes its wire bytes once.
func (q *query) protobridge() error {
	if _, err := q.pb.encode(); err != nil {
		return err
	}
	_, err := q.pb.decode()
	return err
}

// gowsdl encodes the reply and decodes its wire bytes once.
func (q *query) gowsdl() error {
	if _, err := xml.Marshal(q.gw); err != nil {
		return err
	}
	return xml.Unmarshal(q.wire, new(sforce.QueryResponse))
}

// The directions alone, for the informational lines.
func (q *query) protobridgeDecode() error { _, err := q.pb.decode(); return err }
func (q *query) protobridgeEncode() error { _, err := q.pb.encode(); return err }
func (q *query) gowsdlDecode() error      { return xml.Unmarshal(q.wire, new(sforce.QueryResponse)) }
func (q *query) gowsdlEncode() error      { _, err := xml.Marshal(q.gw); return err }

// TestSameWorkQuery checks both sides do the same work on the large reply:
// protobridge writes the wire body (without xsi:type) infoset for infoset and
// reads it as the message it encodes; gowsdl reads the data set from it (nil
// as empty) and its structs hold the data set; what gowsdl writes is logged
// where it differs from the wire (it writes the sObject fields in the API's
// namespace and nil fields as empty elements).
func TestSameWorkQuery(t *testing.T) {
	q := newQuery(t)
	t.Logf("queryResponse: %d records, %d bytes on the wire", queryRecords, len(q.wire))
	out, err := q.pb.encode()
	if err != nil {
		t.Fatal(err)
	}
	if diff, err := xmltest.Diff(q.wirePlain, out, xmltest.Options{}); err != nil || diff != "" {
		t.Errorf("protobridge writes queryResponse unlike the wire body (-wire +protobridge), %v:\n%.3000s", err, diff)
	}
	m, err := q.pb.decode()
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, q.pb.msg) {
		t.Errorf("protobridge reads queryResponse other than the message it encodes")
	}
	var got sforce.QueryResponse
	if err := xml.Unmarshal(q.wire, &got); err != nil {
		t.Fatal(err)
	}
	want := withoutNil(q.recs)
	if recs := gowsdlRecords(t, &got); !reflect.DeepEqual(recs, want) {
		t.Errorf("gowsdl reads other values than the data set")
	}
	if recs := gowsdlRecords(t, q.gw); !reflect.DeepEqual(recs, want) {
		t.Errorf("gowsdl's structs hold other values than the data set")
	}
	gwOut, err := xml.Marshal(q.gw)
	if err != nil {
		t.Fatal(err)
	}
	if diff, err := xmltest.Diff(q.wirePlain, gwOut, xmltest.Options{}); err != nil {
		t.Fatal(err)
	} else if diff != "" {
		t.Logf("gowsdl writes queryResponse unlike the schema (-wire +gowsdl, first lines):\n%.600s", diff)
	}
}
