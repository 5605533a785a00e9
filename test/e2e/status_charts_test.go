package e2e

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/internal/testenv"
)

// TestStatusPageChartsInChromium calls a route through an upstream that
// announces its sunset, opens the status page in headless Chromium and
// checks what a person sees: the route's three charts (requests per
// minute, error rate, latency percentiles) drawn with marks in them, the
// pixels of the screenshot showing the bars and lines in their colours,
// and the upstream's notice.
func TestStatusPageChartsInChromium(t *testing.T) {
	chromium := testenv.LookPath(t, "/usr/bin/chromium")
	pets := newFakePetstore(t)
	target, err := url.Parse(pets.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		r.Header.Set("Sunset", "Wed, 30 Jun 2027 00:00:00 GMT")
		r.Header.Set("Deprecation", "@1780000000")
		return nil
	}
	up := httptest.NewServer(proxy)
	t.Cleanup(up.Close)
	d := startDaemon(t, opsConfig(t, filepath.Join(t.TempDir(), "c.yaml"), up.URL, ""))
	m, ok := d.Out.Wait(adminRE)
	if !ok {
		t.Fatalf("no admin address in the log:\n%s", d.Out)
	}
	admin := "http://" + m[1]
	for i := 0; i < 6; i++ {
		if _, err := call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":"10"}`); err != nil {
			t.Fatal(err)
		}
	}
	_, err = call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":"404"}`)
	wantStatus(t, err, codes.NotFound)

	ctx := browser(t, chromium, 1400)
	if err := chromedp.Do(ctx, chromedp.Navigate(admin+"/"), chromedp.WaitVisible("#charts")); err != nil {
		t.Fatal(err)
	}

	// Per chart of GetPetById: its marks, as the browser laid them out.
	const probe = `(() => {
	  const out = {charts: {}};
	  for (const m of document.querySelectorAll('#charts .m')) {
	    if (m.firstChild.textContent.trim() !== 'petstore.v1.PetService/GetPetById') continue;
	    let el = m.nextElementSibling;
	    for (let i = 0; i < 3 && el; i++, el = el.nextElementSibling) {
	      const svg = el.querySelector('svg.chart');
	      const r = svg.getBoundingClientRect();
	      out.charts[svg.dataset.chart] = {w: r.width, h: r.height,
	        marks: [...svg.querySelectorAll('.bar, .line, .dot')].filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).map(e => e.getAttribute('class')),
	        caption: el.querySelector('figcaption').textContent};
	    }
	    out.summary = m.textContent;
	  }
	  return JSON.stringify(out);
	})()`
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](probe))
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Charts map[string]struct {
			W, H    float64
			Marks   []string
			Caption string
		}
		Summary string
	}
	if err := json.Unmarshal([]byte(raw), &page); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	charts := page.Charts
	// The calls may straddle a minute: a lone minute is a dot, more a line.
	for chart, marks := range map[string][]string{"requests": {"bar"}, "errors": {"err"}, "latency": {"p50", "p90", "p99"}} {
		c := charts[chart]
		if c.W != 240 || c.H != 56 {
			t.Errorf("%s chart is %vx%v", chart, c.W, c.H)
		}
		got := strings.Join(c.Marks, ",")
		for _, m := range marks {
			if !strings.Contains(got, m) {
				t.Errorf("%s chart has no %s mark drawn: %q", chart, m, c.Marks)
			}
		}
	}
	if c := charts["requests"].Caption; !strings.HasPrefix(c, "peak ") || c == "peak 0/min" {
		t.Errorf("requests caption %q", c)
	}
	if c := charts["errors"].Caption; c != "1 failed" {
		t.Errorf("errors caption %q", c)
	}
	if !strings.Contains(page.Summary, "7 calls, 14.3% errors") {
		t.Errorf("GetPetById's summary lacks its 7 calls, 1 failed:\n%s", raw)
	}

	notices, err := chromedp.Run(ctx, chromedp.Text("#notices"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"petstore.v1.PetService/GetPetById\tpetstore\tsunset\t2027-06-30", "deprecation"} {
		if !strings.Contains(notices, want) {
			t.Errorf("notices table lacks %q:\n%s", want, notices)
		}
	}

	// The screenshot of the charts shows the bar and the lines in their colours.
	shot, err := chromedp.Run(ctx, chromedp.Screenshot("#charts"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	colours := map[string][3]uint8{"requests bar": {0x09, 0x69, 0xda}, "error line": {0xcf, 0x22, 0x2e}, "p50": {0x1a, 0x7f, 0x37}, "p99": {0x82, 0x50, 0xdf}}
	for name, c := range colours {
		if n := countNear(img, c); n < 10 {
			t.Errorf("the screenshot has %d pixels of the %s colour: the chart did not render", n, name)
		}
	}
	if dir := os.Getenv("PROTOBRIDGE_SCREENSHOTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "status-charts.png"), shot, 0o644)
	}
}

// countNear counts pixels within a small distance of colour c.
func countNear(img image.Image, c [3]uint8) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, c[0]) && near(g>>8, c[1]) && near(bl>>8, c[2]) {
				n++
			}
		}
	}
	return n
}

func near(v uint32, want uint8) bool {
	d := int(v) - int(want)
	return d > -24 && d < 24
}
