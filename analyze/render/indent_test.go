package render

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppendIndent holds appendIndent to json.Indent on any valid JSON,
// compacted as json.Marshal writes it.
func FuzzAppendIndent(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[],"b":{},"c":[1,{"d":"x\"y\\"}],"e":"\\\\"}`, `"\\\""`, `[[[]],{"k":null}]`,
		`{"s":"a,b:{c}[d]","t":"\u003chtml\u003e"}`} {
		f.Add([]byte(s), "  ", "\t")
	}
	f.Fuzz(func(t *testing.T, in []byte, prefix, indent string) {
		var compact bytes.Buffer
		if json.Compact(&compact, in) != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), prefix, indent); err != nil {
			t.Fatal(err)
		}
		if got := appendIndent(nil, compact.Bytes(), prefix, indent); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendIndent(%q)\n%q\nwant\n%q", compact.Bytes(), got, want.Bytes())
		}
	})
}

func TestMarshalIndent(t *testing.T) {
	v := map[string]any{"a": []any{1, "two", map[string]any{}}, "b": "<&>", "c": []int{}}
	want, _ := json.MarshalIndent(v, "    ", "  ")
	got, err := marshalIndent(v, "    ", "  ")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("marshalIndent\n%s\nwant\n%s", got, want)
	}
}
