package wsdl

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options control how Load and Parse read documents.
type Options struct {
	// AllowRemote permits http(s) locations, for the root and for imports. Without it a
	// remote location is an error naming it.
	AllowRemote bool
	// Fetch, when set, reads every document (local paths and, if allowed, URLs) instead
	// of the file system and the default HTTP client. location is an absolute path or
	// an absolute URL. Tests use it to serve documents from memory.
	Fetch func(location string) ([]byte, error)
	// IgnoreUnreadableImports keeps loading when the document an xs:import names cannot
	// be read (XSD §4.2.3 makes schemaLocation a hint): the import is then reported only
	// if a reference into what it would have declared fails to resolve. Without it, an
	// unreadable import is an error naming its file and line, as a broken reference
	// is. Imports of the namespaces the model has built in (XML Schema, SOAP encoding,
	// xml:) are never read either way.
	IgnoreUnreadableImports bool
}

// remoteTimeout bounds one HTTP fetch by the default fetcher.
const remoteTimeout = 30 * time.Second

// Load reads the WSDL 1.1 document at path (a file path, or an http(s) URL when
// opts.AllowRemote is set), follows its wsdl:import, xsd:import and xsd:include
// references relative to the importing document, and returns the resolved model. The
// root document may also be a bare XSD schema, which yields Definitions with only
// Schemas set.
func Load(path string, opts Options) (*Definitions, error) {
	loc, err := rootLocation(path)
	if err != nil {
		return nil, err
	}
	l := newLoader(opts)
	l.defs.Location = loc
	if err := l.loadDocument(loc, ""); err != nil {
		return nil, err
	}
	return l.finish()
}

// Parse reads one WSDL 1.1 (or XSD) document from data. location names it in errors and
// is the base for its relative imports, which are read as Load reads them; it may be ""
// when the document imports nothing.
func Parse(data []byte, location string, opts Options) (*Definitions, error) {
	l := newLoader(opts)
	if location != "" {
		loc, err := rootLocation(location)
		if err != nil {
			return nil, err
		}
		location = loc
	}
	l.seen[location] = true
	l.defs.Location = location
	if err := l.parseDocument(data, location); err != nil {
		return nil, err
	}
	return l.finish()
}

// rootLocation normalises the root location: URLs stay, paths become absolute.
func rootLocation(path string) (string, error) {
	if isRemote(path) {
		return path, nil
	}
	path = strings.TrimPrefix(path, "file://")
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("wsdl: %s: %w", path, err)
	}
	return abs, nil
}

// isRemote reports an http or https location.
func isRemote(loc string) bool {
	l := strings.ToLower(loc)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// resolveLocation resolves ref against the location of the referring document.
func resolveLocation(base, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if isRemote(ref) {
		return ref, nil
	}
	if strings.HasPrefix(ref, "file://") {
		return filepath.Clean(strings.TrimPrefix(ref, "file://")), nil
	}
	if isRemote(base) {
		b, err := url.Parse(base)
		if err != nil {
			return "", err
		}
		r, err := url.Parse(ref)
		if err != nil {
			return "", err
		}
		return b.ResolveReference(r).String(), nil
	}
	if filepath.IsAbs(ref) || base == "" {
		return filepath.Abs(ref)
	}
	return filepath.Join(filepath.Dir(base), filepath.FromSlash(ref)), nil
}

// loader carries the state of one Load or Parse.
type loader struct {
	opts    Options
	defs    *Definitions
	set     *SchemaSet
	seen    map[string]bool // WSDL and imported schema documents already read
	schemas map[string]bool // included schemas by location and effective namespace
	ndocs   int
	// importErrs are xs:import documents that could not be read (with
	// IgnoreUnreadableImports), reported with resolution errors.
	importErrs []error
	// fixups run after all documents are read, phase by phase (see the phase consts).
	fixups [numPhases][]func() error
}

// Resolution phases, run in order once every document is read.
const (
	phaseLookup     = iota // XSD references by name
	phaseSubstTypes        // untyped elements take their substitution group head's type
	phaseCopyRefs          // element and attribute ref= copies
	phaseWSDLParts         // message parts against schemas
	phaseWSDLOps           // port type operations against messages
	phaseWSDLBind          // bindings against port types
	phaseWSDLPorts         // ports against bindings
	numPhases
)

func newLoader(opts Options) *loader {
	set := newSchemaSet()
	return &loader{
		opts:    opts,
		set:     set,
		defs:    &Definitions{Schemas: set, messages: map[xml.Name]*Message{}, portTypes: map[xml.Name]*PortType{}, bindings: map[xml.Name]*Binding{}},
		seen:    map[string]bool{},
		schemas: map[string]bool{},
	}
}

// fixup queues f for phase.
func (l *loader) fixup(phase int, f func() error) { l.fixups[phase] = append(l.fixups[phase], f) }

// fetch reads the document at loc, enforcing the remote policy, MaxDocuments and
// MaxFileSize. from names the referring place for errors ("" for the root).
func (l *loader) fetch(loc, from string) ([]byte, error) {
	where := ""
	if from != "" {
		where = " (referenced at " + from + ")"
	}
	if isRemote(loc) && !l.opts.AllowRemote {
		return nil, fmt.Errorf("wsdl: remote document %s%s not loaded: set Options.AllowRemote to fetch it", loc, where)
	}
	l.ndocs++
	if l.ndocs > MaxDocuments {
		return nil, fmt.Errorf("wsdl: %s%s: more than %d documents", loc, where, MaxDocuments)
	}
	var (
		data []byte
		err  error
	)
	switch {
	case l.opts.Fetch != nil:
		data, err = l.opts.Fetch(loc)
	case isRemote(loc):
		data, err = fetchHTTP(loc)
	default:
		data, err = readFile(loc)
	}
	if err != nil {
		return nil, fmt.Errorf("wsdl: reading %s%s: %w", loc, where, err)
	}
	l.defs.Documents = append(l.defs.Documents, loc)
	return data, nil
}

// readFile reads a local file of at most MaxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		// WSDLs written on case-insensitive file systems may spell names differently.
		if alt := caseInsensitiveMatch(path); alt != "" {
			f, err = os.Open(alt)
		}
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f)
}

// caseInsensitiveMatch returns the single file in path's directory whose name equals
// path's base name ignoring case, or "".
func caseInsensitiveMatch(path string) string {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return ""
	}
	match := ""
	for _, e := range entries {
		if strings.EqualFold(e.Name(), filepath.Base(path)) {
			if match != "" {
				return ""
			}
			match = filepath.Join(filepath.Dir(path), e.Name())
		}
	}
	return match
}

// fetchHTTP GETs url with remoteTimeout, reading at most MaxFileSize bytes.
func fetchHTTP(url string) ([]byte, error) {
	c := &http.Client{Timeout: remoteTimeout}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %s", resp.Status)
	}
	return readLimited(resp.Body)
}

// readLimited reads r, failing beyond MaxFileSize.
func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than the limit of %d bytes", MaxFileSize)
	}
	return data, nil
}

// loadDocument reads and parses the WSDL or schema at loc once.
func (l *loader) loadDocument(loc, from string) error {
	if l.seen[loc] {
		return nil
	}
	l.seen[loc] = true
	data, err := l.fetch(loc, from)
	if err != nil {
		return err
	}
	return l.parseDocument(data, loc)
}

// parseDocument dispatches on the root element: wsdl:definitions or xs:schema.
func (l *loader) parseDocument(data []byte, loc string) error {
	root, err := parseTree(data, displayName(loc))
	if err != nil {
		return err
	}
	switch {
	case root.undeclared != "":
		return root.errUndeclared()
	case root.name.Local == "definitions" && isWSDLNS(root.name.Space):
		return l.parseDefinitions(root, loc)
	case root.is(XSDNS, "schema"):
		return l.addSchema(root, loc, loc, "")
	}
	return fmt.Errorf("%s: root element {%s}%s is neither wsdl:definitions nor xs:schema", root.pos(), root.name.Space, root.name.Local)
}

// isWSDLNS reports the WSDL 1.1 namespace (which the undeclared prefix "wsdl" that
// some generators emit also stands for: see lenientPrefixes).
func isWSDLNS(ns string) bool { return ns == WSDLNS }

// displayName shortens a location for error messages: paths relative to the working
// directory when below it.
func displayName(loc string) string {
	if isRemote(loc) || loc == "" {
		return loc
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, loc); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return loc
}

// finish runs the fixups and builds indexes.
func (l *loader) finish() (*Definitions, error) {
	var errs []error
	run := func(phase int) {
		for _, f := range l.fixups[phase] {
			if err := f(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for p := 0; p < numPhases && len(errs) == 0; p++ {
		run(p)
		if p == phaseCopyRefs && len(errs) == 0 {
			errs = append(errs, l.set.resolve()...)
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(append(errs, l.importErrs...))
	}
	return l.defs, nil
}

// maxReportedErrors bounds how many resolution errors one Load reports.
const maxReportedErrors = 20

// joinErrors joins errs, keeping the first maxReportedErrors.
func joinErrors(errs []error) error {
	if len(errs) > maxReportedErrors {
		n := len(errs) - maxReportedErrors
		errs = append(errs[:maxReportedErrors:maxReportedErrors], fmt.Errorf("… and %d more errors", n))
	}
	return errors.Join(errs...)
}
