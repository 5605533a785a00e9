package protogen

import "testing"

func TestNames(t *testing.T) {
	fields := map[string]string{
		"intA": "int_a", "AddResult": "add_result", "HTTPServer": "http_server",
		"first-name": "first_name", "my.dotted": "my_dotted", "_2ndLine": "f2nd_line",
		"FIRST_NAME": "first_name", "a__b": "a_b", "Ünïcode": "n_code", "": "field",
		"string": "string_value", "Reset": "reset_value", "type": "type", "int32Value": "int32_value",
	}
	for in, want := range fields {
		if got := fieldName(in); got != want {
			t.Errorf("fieldName(%q) = %q, want %q", in, got, want)
		}
		if got := fieldName(in); lowerSnake(got) != got {
			t.Errorf("fieldName(%q) = %q is not a lower_snake_case fixed point", in, got)
		}
	}
	types := map[string]string{
		"checkVat": "CheckVat", "my.dotted-type": "MyDottedType", "_3dPoint": "X3dPoint",
		"HTTPServer": "HTTPServer", "item": "Item", "": "X", "a_b": "AB",
	}
	for in, want := range types {
		if got := typeName(in); got != want {
			t.Errorf("typeName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"CheckVat": "CHECK_VAT", "HTTPStatus": "HTTP_STATUS", "Type2Code": "TYPE2_CODE"} {
		if got := upperSnake(in); got != want {
			t.Errorf("upperSnake(%q) = %q, want %q", in, got, want)
		}
	}
	if codecPrefix("A2B") == upperSnake("A2B")+"_" {
		t.Error("codecPrefix and upperSnake agree on A2B; the guard in enum is untested")
	}
}

func TestScope(t *testing.T) {
	s := newScope()
	for _, c := range []struct{ base, suffix, want string }{
		{"Item", "Type", "Item"},
		{"item", "Type", "itemType"},
		{"ITEM", "Type", "ITEMType2"},
		{"first_name", "", "first_name"},
		{"firstname", "", "firstname_2"},
	} {
		sep := ""
		if c.suffix == "" {
			sep = "_"
		}
		if got := s.unique(c.base, c.suffix, sep); got != c.want {
			t.Errorf("unique(%q, %q) = %q, want %q", c.base, c.suffix, got, c.want)
		}
	}
}

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
