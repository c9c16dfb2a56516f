package dataplane

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/privlink/privlink/internal/dataplane/nft"
)

// fullConfig returns a Config in which every field of every struct that a
// nsInput holds is set, so that TestInputClone notices a new field.
func fullConfig() Config {
	rule := nft.Rule{Proto: nft.ProtoTCP, FromPort: 1, ToPort: 2, IcmpType: 3, IcmpCode: 4,
		Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	entry := nft.ACLEntry{Number: 1, Allow: true, Proto: nft.ProtoTCP, FromPort: 1, ToPort: 2, IcmpType: 3, IcmpCode: 4,
		Prefix: netip.MustParsePrefix("10.0.0.0/8")}
	r := testVPC("plk-vpc")
	r.ACLs = nft.ACLSet{Subnets: []nft.SubnetACL{{Iface: "b1", Inbound: []nft.ACLEntry{entry}, Outbound: []nft.ACLEntry{entry}}}}
	h := testHost("plk-i-1", "p1", "plk-vpc", "b1", "10.0.1.10/24", 1)
	h.Firewall = nft.Firewall{Interfaces: []nft.IfacePolicy{{Iface: "eth0", Ingress: []nft.Rule{rule}, Egress: []nft.Rule{rule}}}}
	return Config{Prefix: "plk-", Owner: "o1", Routers: []Router{r}, Hosts: []Host{h}}
}

// TestInputClone checks that nsInput.clone shares no memory with the
// Config: the Linux data plane keeps clones across Set calls, and a caller
// may reuse its Config's slices.
func TestInputClone(t *testing.T) {
	cfg := fullConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, in := range inputsOf(cfg) {
		v := reflect.ValueOf(in)
		for _, part := range []any{in.Router, in.Host} {
			if path := zeroField(reflect.ValueOf(part), name); path != "" {
				t.Errorf("fixture leaves %s zero; set it", path)
			}
		}
		c := in.clone()
		if !in.equal(c) {
			t.Errorf("%s: clone() differs from the original", name)
		}
		if path := sharedMemory(v, reflect.ValueOf(c), "nsInput"); path != "" {
			t.Errorf("%s: clone() shares %s with the original", name, path)
		}
	}
}

// zeroField returns the path of a zero field in v (structs, pointers and
// the first element of slices), or "".
func zeroField(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return zeroField(v.Elem(), path)
	case reflect.Struct:
		if v.Type().PkgPath() == "net/netip" {
			return ""
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			p := path + "." + f.Name
			if v.Field(i).IsZero() {
				return p
			}
			if z := zeroField(v.Field(i), p); z != "" {
				return z
			}
		}
	case reflect.Slice:
		if v.Len() > 0 {
			return zeroField(v.Index(0), path+"[0]")
		}
	}
	return ""
}

// sharedMemory returns the path of a slice or pointer that a and b share,
// or "".
func sharedMemory(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		return sharedMemory(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		if a.Type().PkgPath() == "net/netip" {
			return "" // immutable
		}
		for i := range a.NumField() {
			if s := sharedMemory(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); s != "" {
				return s
			}
		}
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := range min(a.Len(), b.Len()) {
			if s := sharedMemory(a.Index(i), b.Index(i), path+"[i]"); s != "" {
				return s
			}
		}
	}
	return ""
}

// TestInputEqual changes, one at a time, every leaf of a full input, and
// checks that equal notices: it compares field by field, and must not
// miss one that a struct gains.
func TestInputEqual(t *testing.T) {
	for name, in := range inputsOf(fullConfig()) {
		if !in.equal(in.clone()) {
			t.Errorf("%s: equal() with a clone = false", name)
		}
		var paths []string
		leaves(reflect.ValueOf(&in).Elem(), name, &paths)
		for i, path := range paths {
			c := in.clone()
			var n int
			changeLeaf(reflect.ValueOf(&c).Elem(), i, &n)
			if in.equal(c) {
				t.Errorf("equal() misses a change of %s", path)
			}
		}
	}
}

// leaves appends the paths of the leaves of v (fields that are not
// structs, pointers or slices of those, and netip values) to paths, in the
// order changeLeaf counts them.
func leaves(v reflect.Value, path string, paths *[]string) {
	switch {
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			leaves(v.Elem(), path, paths)
		}
	case v.Kind() == reflect.Struct && v.Type().PkgPath() != "net/netip":
		for i := range v.NumField() {
			leaves(v.Field(i), path+"."+v.Type().Field(i).Name, paths)
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8:
		for i := range v.Len() {
			leaves(v.Index(i), fmt.Sprintf("%s[%d]", path, i), paths)
		}
	default:
		*paths = append(*paths, path)
	}
}

// changeLeaf changes the leaf number target of v, counting leaves in n.
func changeLeaf(v reflect.Value, target int, n *int) {
	switch {
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			changeLeaf(v.Elem(), target, n)
		}
	case v.Kind() == reflect.Struct && v.Type().PkgPath() != "net/netip":
		for i := range v.NumField() {
			changeLeaf(v.Field(i), target, n)
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8:
		for i := range v.Len() {
			changeLeaf(v.Index(i), target, n)
		}
	default:
		if *n == target {
			switch x := v.Addr().Interface().(type) {
			case *string:
				*x += "x"
			case *bool:
				*x = !*x
			case *int:
				*x++
			case *uint8:
				*x++
			case *uint16:
				*x++
			case *int16:
				*x++
			case *netip.Prefix:
				*x = netip.PrefixFrom(x.Addr().Next(), x.Bits())
			case *netip.Addr:
				*x = x.Next()
			case *net.HardwareAddr:
				*x = append(net.HardwareAddr{}, *x...)
				(*x)[5]++
			default:
				panic(fmt.Sprintf("changeLeaf: no way to change a %T", x))
			}
		}
		*n++
	}
}
