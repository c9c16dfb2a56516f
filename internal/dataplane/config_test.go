package dataplane

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	br := func(name, addr string) Bridge {
		var p netip.Prefix
		if addr != "" {
			p = netip.MustParsePrefix(addr)
		}
		return Bridge{Name: name, Address: p}
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings of the error; nil: valid
	}{
		{
			name: "empty config",
			cfg:  Config{Prefix: "plk-", Owner: "o1"},
		},
		{
			name: "valid",
			cfg: Config{Prefix: "plk-", Owner: "o1", Routers: []Router{
				{Namespace: "plk-vpc-0a1b2c3d4e5f67890", Bridges: []Bridge{br("plkb-0123456789", "10.0.1.1/24"), br("b2", "10.0.2.1/24")}},
				// The same bridge names and addresses in another router.
				{Namespace: "plk-vpc-2", Bridges: []Bridge{br("b2", "10.0.2.1/24"), br("b6", "fd00:1::1/64")}},
			}},
		},
		{
			name:    "no prefix",
			cfg:     Config{Owner: "o1", Routers: []Router{{Namespace: "vpc-1"}}},
			wantErr: []string{"prefix: empty name"},
		},
		{
			name:    "prefix with a slash",
			cfg:     Config{Prefix: "a/b", Owner: "o1"},
			wantErr: []string{"prefix: name \"a/b\" contains '/'"},
		},
		{
			name: "owner id of a daemon",
			cfg:  Config{Prefix: "plk-", Owner: "0123456789abcdef"},
		},
		{
			name:    "no owner",
			cfg:     Config{Prefix: "plk-", Routers: []Router{{Namespace: "plk-1"}}},
			wantErr: []string{"owner: empty owner"},
		},
		{
			name:    "owner with a space",
			cfg:     Config{Prefix: "plk-", Owner: "a b"},
			wantErr: []string{`owner: owner "a b" contains a character other than`},
		},
		{
			name:    "owner with a non-ASCII letter",
			cfg:     Config{Prefix: "plk-", Owner: "ownér"},
			wantErr: []string{`owner: owner "ownér" contains`},
		},
		{
			name:    "owner too long",
			cfg:     Config{Prefix: "plk-", Owner: strings.Repeat("a", MaxOwner+1)},
			wantErr: []string{"longer than 64 bytes"},
		},
		{
			name: "namespace without prefix",
			cfg: Config{Prefix: "plk-", Owner: "o1", Routers: []Router{
				{Namespace: "vpc-1"},
				{Namespace: "plk-"},
				{Namespace: "plktest-1"},
			}},
			wantErr: []string{
				`namespace "vpc-1" does not extend prefix "plk-"`,
				`namespace "plk-" does not extend prefix "plk-"`,
				`namespace "plktest-1" does not extend prefix "plk-"`,
			},
		},
		{
			name:    "duplicate namespace",
			cfg:     Config{Prefix: "plk-", Owner: "o1", Routers: []Router{{Namespace: "plk-1"}, {Namespace: "plk-1"}}},
			wantErr: []string{`router 1: duplicate namespace "plk-1"`},
		},
		{
			name: "bad link names",
			cfg: Config{Prefix: "plk-", Owner: "o1", Routers: []Router{{Namespace: "plk-1", Bridges: []Bridge{
				br("0123456789abcdef", "10.0.1.1/24"),
				br("", "10.0.2.1/24"),
				br("a b", "10.0.3.1/24"),
				br("lo", "10.0.4.1/24"),
				br("sit0", "10.0.5.1/24"),
				br("ok", "10.0.6.1/24"),
				br("ok", "10.0.7.1/24"),
			}}}},
			wantErr: []string{
				`link name "0123456789abcdef" longer than 15 bytes`,
				"empty link name",
				`link name "a b" contains`,
				`link name "lo" is reserved`,
				`link name "sit0" is reserved`,
				`duplicate link name "ok"`,
			},
		},
		{
			name: "bad addresses",
			cfg: Config{Prefix: "plk-", Owner: "o1", Routers: []Router{{Namespace: "plk-1", Bridges: []Bridge{
				br("b1", ""),
				br("b2", "::ffff:10.0.0.1/120"),
				br("b3", "10.0.0.1/16"),
				br("b4", "10.0.1.1/24"),
			}}}},
			wantErr: []string{
				"(b1): invalid address",
				"(b2): address ::ffff:10.0.0.1/120 must be plain",
				"(b4): address 10.0.1.1/24 overlaps 10.0.0.1/16 on b3",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v\nwant it to contain %q", err, w)
				}
			}
			if got, want := len(strings.Split(err.Error(), "\n")), len(tt.wantErr); got != want {
				t.Errorf("Validate() reported %d problems, want %d:\n%v", got, want, err)
			}
		})
	}
}

func TestOwnerOfAlias(t *testing.T) {
	tests := []struct {
		alias, want string
	}{
		{OwnerAlias("0123456789abcdef"), "0123456789abcdef"},
		{"privlink owner=0123456789abcdef", "0123456789abcdef"},
		{"", ""},
		{"privlink owner=", ""},
		{"privlink owner=a b", ""},
		{"loopback of my test bed", ""},
		{"Privlink owner=abc", ""},
	}
	for _, tt := range tests {
		if got := ownerOfAlias(tt.alias); got != tt.want {
			t.Errorf("ownerOfAlias(%q) = %q, want %q", tt.alias, got, tt.want)
		}
	}
}
