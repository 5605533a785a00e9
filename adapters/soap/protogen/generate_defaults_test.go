package protogen

import (
	"testing"

	"github.com/protobridge/protobridge/adapters/internal/genproto"
)

func TestGenerateRejectsBadPackage(t *testing.T) {
	for _, p := range []string{"", "calc", "Calc.v1", "calc.V1", "1calc.v1"} {
		if _, err := Generate(lockWSDL(t, []string{"a"}, []string{"RED"}), Options{Package: p}); err == nil {
			t.Errorf("package %q accepted", p)
		}
	}
}

func TestDefaults(t *testing.T) {
	for in, want := range map[string]string{"Calculator": "calculator.v1", "checkVatService": "check_vat.v1", "Service": "service.v1", "3D": "soap_3d.v1"} {
		if got := DefaultPackage(in); got != want {
			t.Errorf("DefaultPackage(%q) = %q, want %q", in, got, want)
		}
	}
	if got := DefaultUpstream("checkVatService"); got != "check_vat_service" {
		t.Errorf("DefaultUpstream = %q", got)
	}
}

// TestCodecPrefixDiffersFromUpperSnake keeps the guard in enum tested: the
// two prefixes disagree on A2B.
func TestCodecPrefixDiffersFromUpperSnake(t *testing.T) {
	if codecPrefix("A2B") == genproto.UpperSnake("A2B")+"_" {
		t.Error("codecPrefix and upperSnake agree on A2B; the guard in enum is untested")
	}
}
