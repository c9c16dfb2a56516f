package dataplane

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/testenv"
	"golang.org/x/sys/unix"
)

// netlinkMsg builds one netlink message of type typ with payload data.
func netlinkMsg(typ uint16, data []byte) []byte {
	b := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(data))
	binary.NativeEndian.PutUint32(b[0:], uint32(unix.SizeofNlMsghdr+len(data)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	return append(b, data...)
}

// netconfMsg builds an RTM_NEWNETCONF payload with the given u32
// attributes.
func netconfMsg(attrs map[uint16]uint32) []byte {
	b := []byte{unix.AF_INET, 0, 0, 0}
	for _, typ := range []uint16{netconfaIfindex, netconfaForwarding, 3} {
		v, ok := attrs[typ]
		if !ok {
			continue
		}
		a := make([]byte, 8)
		binary.NativeEndian.PutUint16(a[0:], 8)
		binary.NativeEndian.PutUint16(a[2:], typ)
		binary.NativeEndian.PutUint32(a[4:], v)
		b = append(b, a...)
	}
	return b
}

func TestParseNetconfForwarding(t *testing.T) {
	errno := make([]byte, 4+unix.SizeofNlMsghdr)
	binary.NativeEndian.PutUint32(errno, uint32(0xffffffff-uint32(unix.EOPNOTSUPP)+1))
	all := ^uint32(0) // NETCONFA_IFINDEX_ALL
	tests := []struct {
		name    string
		in      []byte
		want    bool
		wantErr string
	}{
		{name: "on", in: netlinkMsg(unix.RTM_NEWNETCONF, netconfMsg(map[uint16]uint32{netconfaIfindex: all, netconfaForwarding: 1, 3: 0})), want: true},
		{name: "2 is not 1, as in /proc", in: netlinkMsg(unix.RTM_NEWNETCONF, netconfMsg(map[uint16]uint32{netconfaIfindex: all, netconfaForwarding: 2}))},
		{name: "off", in: netlinkMsg(unix.RTM_NEWNETCONF, netconfMsg(map[uint16]uint32{netconfaIfindex: all, netconfaForwarding: 0, 3: 1}))},
		{name: "no forwarding attribute", in: netlinkMsg(unix.RTM_NEWNETCONF, netconfMsg(map[uint16]uint32{netconfaIfindex: all})), wantErr: "no NETCONFA_FORWARDING"},
		{name: "kernel error", in: netlinkMsg(unix.NLMSG_ERROR, errno), wantErr: "operation not supported"},
		{name: "other message", in: netlinkMsg(unix.RTM_NEWLINK, make([]byte, 16)), wantErr: "no RTM_NEWNETCONF"},
		{name: "truncated", in: netlinkMsg(unix.RTM_NEWNETCONF, netconfMsg(map[uint16]uint32{netconfaForwarding: 1}))[:20], wantErr: "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNetconfForwarding(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseNetconfForwarding() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseNetconfForwarding() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseNetconfForwarding() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// readForwardingProc is what readForwarding replaced: ip_forward from
// /proc/sys.
func readForwardingProc() (bool, error) {
	b, err := os.ReadFile(ipForward)
	return strings.TrimSpace(string(b)) == "1", err
}

// TestPrivilegedReadForwarding checks that readForwarding reads what
// /proc/sys/net/ipv4/ip_forward shows, off and on.
func TestPrivilegedReadForwarding(t *testing.T) {
	testenv.RequirePrivileged(t)
	name := testenv.Prefix(t) + "fwd"
	if err := netns.Create(name); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"0", "1", "2", "0"} {
		err := netns.DoNamed(name, func() error {
			if err := os.WriteFile(ipForward, []byte(v), 0o644); err != nil {
				return err
			}
			want, err := readForwardingProc()
			if err != nil {
				return err
			}
			got, err := readForwarding()
			if err != nil {
				return err
			}
			if want != got {
				return fmt.Errorf("readForwarding() = %v, /proc/sys shows %v", got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ip_forward %s: %v", v, err)
		}
	}
}

// BenchmarkPrivilegedReadForwarding measures, with n namespaces on the
// host, the per-namespace cost of reading ip_forward (readForwarding, and
// the /proc/sys read that it replaced) and of readNamespace as a whole on
// an empty namespace. Each op switches the thread into one of the n in
// turn; do-only is that switch alone.
func BenchmarkPrivilegedReadForwarding(b *testing.B) {
	testenv.RequirePrivileged(b)
	p := testenv.Prefix(b)
	var hs []netns.Handle
	b.Cleanup(func() {
		for _, h := range hs {
			h.Close()
		}
	})
	methods := []struct {
		name string
		read func() (bool, error)
	}{
		{"do-only", func() (bool, error) { return false, nil }},
		{"proc-sys", readForwardingProc},
		{"netconf", readForwarding},
	}
	for _, n := range []int{200, 400, 800, 1600} {
		for len(hs) < n {
			name := fmt.Sprintf("%s%d", p, len(hs))
			if err := netns.Create(name); err != nil {
				b.Fatal(err)
			}
			h, err := netns.Open(name)
			if err != nil {
				b.Fatal(err)
			}
			hs = append(hs, h)
		}
		for _, m := range methods {
			b.Run(fmt.Sprintf("n=%d/%s", n, m.name), func(b *testing.B) {
				i := 0
				for b.Loop() {
					if err := netns.Do(hs[i%n], func() error { _, err := m.read(); return err }); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
		b.Run(fmt.Sprintf("n=%d/readNamespace", n), func(b *testing.B) {
			var opens atomic.Int64
			i := 0
			for b.Loop() {
				if _, _, err := readNamespace(b.Context(), fmt.Sprintf("%s%d", p, i%n), testOwner, nil, &opens); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
