package genproto

import (
	"testing"
)

func TestNames(t *testing.T) {
	fields := map[string]string{
		"intA": "int_a", "AddResult": "add_result", "HTTPServer": "http_server",
		"first-name": "first_name", "my.dotted": "my_dotted", "_2ndLine": "f2nd_line",
		"FIRST_NAME": "first_name", "a__b": "a_b", "Ünïcode": "n_code", "": "field",
		"string": "string_value", "Reset": "reset_value", "type": "type", "int32Value": "int32_value",
	}
	for in, want := range fields {
		if got := FieldName(in); got != want {
			t.Errorf("FieldName(%q) = %q, want %q", in, got, want)
		}
		if got := FieldName(in); LowerSnake(got) != got {
			t.Errorf("FieldName(%q) = %q is not a lower_snake_case fixed point", in, got)
		}
	}
	types := map[string]string{
		"checkVat": "CheckVat", "my.dotted-type": "MyDottedType", "_3dPoint": "X3dPoint",
		"HTTPServer": "HTTPServer", "item": "Item", "": "X", "a_b": "AB",
	}
	for in, want := range types {
		if got := TypeName(in); got != want {
			t.Errorf("TypeName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"CheckVat": "CHECK_VAT", "HTTPStatus": "HTTP_STATUS", "Type2Code": "TYPE2_CODE"} {
		if got := UpperSnake(in); got != want {
			t.Errorf("UpperSnake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScope(t *testing.T) {
	s := NewScope()
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
		if got := s.Unique(c.base, c.suffix, sep); got != c.want {
			t.Errorf("unique(%q, %q) = %q, want %q", c.base, c.suffix, got, c.want)
		}
	}
}
