package forwarder

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendProxyV2(t *testing.T) {
	sig := "0d0a0d0a000d0a515549540a"
	tests := []struct {
		name     string
		src, dst string
		id       string
		want     string // hex, spaces ignored
	}{
		{
			// The reference example of the product issue.
			name: "ipv4 with endpoint id",
			src:  "10.0.1.25:54321", dst: "10.1.2.10:443", id: "vpce-0c1308d7312217abc",
			want: sig + "21 11 0026 0a000119 0a01020a d431 01bb ea 0017 01" + hex.EncodeToString([]byte("vpce-0c1308d7312217abc")),
		},
		{
			name: "ipv4 without endpoint id",
			src:  "10.0.1.25:54321", dst: "10.1.2.10:443",
			want: sig + "21 11 000c 0a000119 0a01020a d431 01bb",
		},
		{
			name: "ipv4-mapped addresses are ipv4",
			src:  "[::ffff:10.0.1.25]:54321", dst: "10.1.2.10:443",
			want: sig + "21 11 000c 0a000119 0a01020a d431 01bb",
		},
		{
			name: "ipv6",
			src:  "[2001:db8::1]:1234", dst: "[2001:db8::2]:80",
			want: sig + "21 21 0024 20010db8000000000000000000000001 20010db8000000000000000000000002 04d2 0050",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendProxyV2(nil, netip.MustParseAddrPort(tt.src), netip.MustParseAddrPort(tt.dst), tt.id)
			want := strings.ReplaceAll(tt.want, " ", "")
			if diff := cmp.Diff(want, hex.EncodeToString(got)); diff != "" {
				t.Errorf("appendProxyV2() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendProxyV2Appends(t *testing.T) {
	prefix := []byte("abc")
	got := appendProxyV2(prefix, netip.MustParseAddrPort("1.2.3.4:5"), netip.MustParseAddrPort("5.6.7.8:9"), "")
	if string(got[:3]) != "abc" || len(got) != 3+16+12 {
		t.Errorf("appendProxyV2(prefix) = %x, want the prefix and a 28-byte header", got)
	}
}

func TestAppendProxyLocal(t *testing.T) {
	want := "0d0a0d0a000d0a515549540a" + "20" + "00" + "0000"
	if diff := cmp.Diff(want, hex.EncodeToString(appendProxyLocal(nil))); diff != "" {
		t.Errorf("appendProxyLocal() mismatch (-want +got):\n%s", diff)
	}
}
