package wsdl

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusDir returns ../shared/corpus beside the repository root, skipping the test when
// it is absent outside CI (CI=true never skips).
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod) not found above the test directory")
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(corpus); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus %s is missing (CI=true never skips): %v", corpus, err)
		}
		t.Skipf("corpus %s not found; it is expected at ../shared/corpus beside the repository", corpus)
	}
	return corpus
}

// corpusRemotePrefix is where the postman corpus's remote imports point; the corpus
// holds the same files locally under wsdl/postman/imports.
const corpusRemotePrefix = "https://raw.githubusercontent.com/postmanlabs/wsdl-to-postman/development/test/data/separatedFiles/"

// corpusFetch serves remote imports from the corpus, so the test never touches the
// network: the postman URLs from their local copy, and other URLs from the file of the
// same name beside the root WSDL (postman's multi-file folders ship the documents their
// WSDLs import that way). Other URLs fail.
func corpusFetch(corpus, root string) func(string) ([]byte, error) {
	return func(loc string) ([]byte, error) {
		if rest, ok := strings.CutPrefix(loc, corpusRemotePrefix); ok {
			return os.ReadFile(filepath.Join(corpus, "wsdl", "postman", "imports", filepath.FromSlash(rest)))
		}
		if isRemote(loc) {
			sibling := filepath.Join(filepath.Dir(root), path.Base(loc))
			if _, err := os.Stat(sibling); err == nil {
				return os.ReadFile(sibling)
			}
			return nil, errors.New("no network in tests")
		}
		return readFile(loc)
	}
}

// corpusExclusions are corpus files expected not to load, with why. Paths are relative
// to the corpus directory.
var corpusExclusions = map[string]string{
	"soap-samples/GetSubscription__should_handle_ref_minOccurs_and_maxOccurs/soap.wsdl":              "message part refers to EVT:SubscribeResponse, which EventService.xsd does not declare",
	"soap-samples/RetrieveFareQuoteDateRange__should_handle_child_namespaces/soap.wsdl":              "refers to types in Pricing.Response and other namespaces whose childxs*.wsdl schemas are not in the corpus",
	"soap-samples/SetResource__should_correctly_set_element_if_complex-type_has_same_name/soap.wsdl": "part refers to n:SetResourceResponse but Name.xsd declares SetResourceRespone (typo)",
	"soap-samples/addList__complex_extension_namespace_for_arrays/soap.wsdl":                         "imports ../../platform/*.xsd (NetSuite platform schemas) that are not in the corpus, and uses their types",
	"soap-samples/attachments__should_send_binary_data/soap.wsdl":                                    "not WSDL: definitions and schema are in the default namespace http://www.example.com/v1, and xsd:/xmime: are undeclared",
	"soap-samples/getAvailability__should_not_fail_without_children/soap.wsdl":                       "binding operation doIt is not in port type doIt (which has doItMan), and the port's binding prefix auth: is undeclared",
	"soap-samples/get__complex_extension_without_explicit_namespace/soap.wsdl":                       "imports ../../platform/*.xsd (NetSuite platform schemas) that are not in the corpus, and uses their types",
	"soap-samples/login__attributes_namespace_should_be_configurable/soap.wsdl":                      "imports ../../platform/*.xsd (NetSuite platform schemas) that are not in the corpus, and uses their types",
	"soap-samples/login__complex_schema_xmlns_with_array_and_any_type_and_other_types/soap.wsdl":     "soap.platform.core.xsd uses the prefix xs: without declaring it",
	"soap-samples/readMetadata__should_support_XMLSchema_Instance_override/soap.wsdl":                "header message parts refer to CallOptions, SessionHeader… which the trimmed schema does not declare",
	"soap-samples/update__complex_extension_with_array_attributes/soap.wsdl":                         "imports ../../platform/*.xsd (NetSuite platform schemas) that are not in the corpus, and uses their types",
	"wsdl/postman/imports/ServicesWithPrincipalPrefix/goodService-common.wsdl":                       "goodService-messages.xsd includes a schema of another targetNamespace (registration/messages) whose elements the WSDL expects in GoodService/messages",
	"wsdl/postman/imports/ServicesWithPrincipalPrefix/goodService.wsdl":                              "imports goodService-common.wsdl, see its exclusion",
	"wsdl/postman/imports/W3Example/output.wsdl":                                                     "port refers to binding tns:StockQuoteBinding; the binding is named StockQuoteSoapBinding",
	"wsdl/postman/imports/W3Example/outputNoImports.wsdl":                                            "port refers to binding tns:StockQuoteBinding; the binding is named StockQuoteSoapBinding",
	"wsdl/postman/imports/W3Example/stockquoteservice.wsdl":                                          "port refers to binding tns:StockQuoteBinding; the binding is named StockQuoteSoapBinding",
	"wsdl/postman/imports/noRootFile/Services.wsdl":                                                  "uses tns:ElementType from Types.xsd without importing it (postman's test of a folder without a root file)",
	"wsdl/postman/imports/remoteNotFound/Services.wsdl":                                              "xs:include of Types.xsd, which is absent (postman's missing-file test)",
	"wsdl/postman/imports/remoteNotFound/output.wsdl":                                                "xs:include of Types.xsd, which is absent (postman's missing-file test)",
	"wsdl/postman/imports/remoteRefs/output.wsdl":                                                    "port refers to binding tns:StockQuoteBinding; the binding is named StockQuoteSoapBinding",
	"wsdl/postman/imports/remoteRefs/remoteStockquoteservice.wsdl":                                   "port refers to binding tns:StockQuoteBinding; the binding is named StockQuoteSoapBinding",
	"wsdl/postman/imports/wsdlfolderextrafile/stockquoteservice.wsdl":                                "port refers to binding tns:StockQuoteBinding; the binding is named StockQuoteSoapBinding",
	"wsdl/postman/imports/wsdlfolderextrafilexml/stockquoteservice.wsdl":                             "port refers to binding tns:StockQuoteBinding; the binding is named StockQuoteSoapBinding",
	"wsdl/postman/valid/ChoiceInProperties.wsdl":                                                     "trimmed Workday WSDL: soap:header refers to message Workday_Common_HeaderMsg, which was cut",
	"wsdl/postman/valid/base64Encoding.wsdl":                                                         "trimmed Workday WSDL: soap:header refers to message Workday_Common_HeaderMsg, which was cut",
	"wsdl/postman/valid/complexReferenceBy2elements.wsdl":                                            "trimmed Workday WSDL: soap:header refers to message Workday_Common_HeaderMsg, which was cut",
	"wsdl/postman/valid/emptyMessagesIssue.wsdl":                                                     "trimmed Workday WSDL: part refers to element wd:Workday_Common_Header, which was cut",
	"wsdl/postman/valid/hrextract.wsdl":                                                              "trimmed Workday WSDL: soap:header refers to message Workday_Common_HeaderMsg, which was cut",
	"wsdl/postman/valid/mergedW3.wsdl":                                                               "imports http://example.com/stockquote/stockquote.wsdl, a remote document not in the corpus",
	"wsdl/postman/valid/namespaceIssue.wsdl":                                                         "binding operation Get_Contingent_Worker_Contract_Info binds fault Processing_Fault that its port type operation does not declare",
	"wsdl/postman/valid/noWSDLNamespace.wsdl":                                                        "binding operation Get_Contingent_Worker_Contract_Info binds fault Processing_Fault that its port type operation does not declare",
	"wsdl/postman/valid/sfMinified.wsdl":                                                             "minified Salesforce WSDL: refers to ens:User in urn:sobject… while User is declared in urn:enterprise…",
}

// corpusUnreadableImports are corpus files that load only with
// Options.IgnoreUnreadableImports, with why: an xs:import they make cannot be read, and
// nothing refers to what it would declare.
var corpusUnreadableImports = map[string]string{
	"wsdl/postman/imports/counting/CountingCategoryService.wsdl":         "imports ../../../common/v1/CommonData.xsd, which is not in the corpus (and unused)",
	"wsdl/postman/imports/counting/output.wsdl":                          "imports ../../../common/v1/CommonData.xsd, which is not in the corpus (and unused)",
	"wsdl/postman/imports/multipleRoot/CountingCategoryService.wsdl":     "imports ../../../common/v1/CommonData.xsd, which is not in the corpus (and unused)",
	"wsdl/postman/imports/multipleRoot/CountingCategoryServiceCopy.wsdl": "imports ../../../common/v1/CommonData.xsd, which is not in the corpus (and unused)",
}

func corpusWSDLs(t *testing.T, corpus string) []string {
	var files []string
	err := filepath.WalkDir(filepath.Join(corpus, "wsdl"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".wsdl") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	samples, err := filepath.Glob(filepath.Join(corpus, "soap-samples", "*", "soap.wsdl"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, samples...)
	sort.Strings(files)
	return files
}

func TestLoadCorpus(t *testing.T) {
	corpus := corpusDir(t)
	files := corpusWSDLs(t, corpus)
	if len(files) == 0 {
		t.Fatalf("no WSDL found under %s", corpus)
	}
	loaded := 0
	for _, f := range files {
		rel, _ := filepath.Rel(corpus, f)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			opts := Options{AllowRemote: true, Fetch: corpusFetch(corpus, f)}
			defs, err := Load(f, opts)
			if why, ok := corpusUnreadableImports[rel]; ok {
				// Without the option the unreadable import is an error naming it.
				if err == nil || !strings.Contains(err.Error(), "cannot be read") || !strings.Contains(err.Error(), rel) {
					t.Errorf("loads without IgnoreUnreadableImports, or fails otherwise (%s): %v", why, err)
				}
				opts.IgnoreUnreadableImports = true
				defs, err = Load(f, opts)
			}
			reason, excluded := corpusExclusions[rel]
			switch {
			case err == nil && excluded:
				t.Errorf("loads now; remove its exclusion (%s)", reason)
			case err == nil:
				loaded++
				checkInvariants(t, defs)
			case excluded:
				t.Logf("excluded (%s): %v", reason, err)
			default:
				t.Errorf("load failed: %v", err)
			}
		})
	}
	t.Logf("corpus: loaded %d/%d WSDLs (%d of them with IgnoreUnreadableImports; %d excluded)", loaded, len(files), len(corpusUnreadableImports), len(corpusExclusions))
}

// checkInvariants asserts what every loaded model guarantees.
func checkInvariants(t *testing.T, d *Definitions) {
	t.Helper()
	for _, m := range d.Messages {
		for _, p := range m.Parts {
			if (p.Element == nil) == (p.Type == nil) {
				t.Errorf("message %s part %s: want exactly one of element and type", m.Name.Local, p.Name)
			}
		}
	}
	for _, sc := range d.Schemas.Schemas {
		for _, e := range sc.Elements {
			if e.Type == nil {
				t.Errorf("global element %s has no type", fmtName(e.Name))
			}
		}
	}
	for _, ct := range d.Schemas.complexTypes {
		walkParticles(ct.Content, func(p Particle) {
			if e, ok := p.(*Element); ok && (e.Type == nil || e.Name.Local == "") {
				t.Errorf("element particle %s in %s unresolved", fmtName(e.Name), typeDesc(ct))
			}
		})
	}
	for _, ep := range d.Endpoints() {
		for _, op := range ep.Operations {
			if op.Input == nil && op.Output == nil {
				t.Errorf("operation %s has neither input nor output", op.Name)
			}
		}
	}
}

// walkParticles calls f for every particle under g, not entering element types.
func walkParticles(g *ModelGroup, f func(Particle)) {
	if g == nil {
		return
	}
	for _, p := range g.Particles {
		f(p)
		if sub, ok := p.(*ModelGroup); ok {
			walkParticles(sub, f)
		}
	}
}
