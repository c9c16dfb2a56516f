package dataplane

import (
	"fmt"
	"testing"
	"time"

	"github.com/privlink/privlink/internal/testenv"
)

// benchConfig returns vpcs routers with hosts instances each, every one
// with a security group.
func benchConfig(p string, vpcs, hosts int) Config {
	cfg := Config{Prefix: p, Owner: testOwner}
	for v := range vpcs {
		router := fmt.Sprintf("%sv%d", p, v)
		cfg.Routers = append(cfg.Routers, testVPC(router))
		for h := range hosts {
			ns := fmt.Sprintf("%sv%d-i%d", p, v, h)
			host := testHost(ns, fmt.Sprintf("p%d", h), router, "b1", fmt.Sprintf("10.0.1.%d/24", 10+h), byte(h))
			host.Firewall = webSG(80)
			cfg.Hosts = append(cfg.Hosts, host)
		}
	}
	return cfg
}

// BenchmarkPrivilegedSet measures Set over 5 VPCs of 40 instances (205
// namespaces): with nothing changed (the cheap path), with one security
// group changed, and as a full resync.
func BenchmarkPrivilegedSet(b *testing.B) {
	testenv.RequirePrivileged(b)
	p := testenv.Prefix(b)
	cleanupEtcNetns(b, p)
	cfg := benchConfig(p, 5, 40)
	l := NewLinux(nil, FullResyncEvery(time.Hour))
	start := time.Now()
	if err := l.Set(b.Context(), cfg); err != nil {
		b.Fatal(err)
	}
	b.Logf("first Set of %d namespaces: %v", len(cfg.Routers)+len(cfg.Hosts), time.Since(start))
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			if err := l.Set(b.Context(), cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one-sg-changed", func(b *testing.B) {
		port := uint16(1)
		for b.Loop() {
			port++
			cfg.Hosts[7].Firewall = webSG(port)
			if err := l.Set(b.Context(), cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full-resync", func(b *testing.B) {
		for b.Loop() {
			l.Resync()
			if err := l.Set(b.Context(), cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
