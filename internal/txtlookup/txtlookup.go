// Package txtlookup looks up DNS TXT records by asking one DNS server
// directly: the server the daemon is configured with, or the first
// nameserver of /etc/resolv.conf. The control plane uses it to verify the
// private DNS names of endpoint services.
//
// It imports only miekg/dns and the standard library, and nothing of
// privlink.
package txtlookup

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DefaultResolvConf is where a Resolver without a server finds one.
const DefaultResolvConf = "/etc/resolv.conf"

// DefaultTimeout bounds a lookup whose context has no deadline.
const DefaultTimeout = 5 * time.Second

// Resolver looks up TXT records at one DNS server.
type Resolver struct {
	server     string // host:port; "" means the first nameserver of resolvConf
	resolvConf string
}

// New returns a Resolver that asks server ("host:port"), or, when server is
// "", the first nameserver of /etc/resolv.conf, read at each lookup.
func New(server string) *Resolver {
	return &Resolver{server: server, resolvConf: DefaultResolvConf}
}

// serverAddr returns the host:port to ask.
func (r *Resolver) serverAddr() (string, error) {
	if r.server != "" {
		return r.server, nil
	}
	cc, err := dns.ClientConfigFromFile(r.resolvConf)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", r.resolvConf, err)
	}
	if len(cc.Servers) == 0 {
		return "", fmt.Errorf("no nameserver in %s", r.resolvConf)
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port), nil
}

// LookupTXT returns the TXT records of name, each record's
// character-strings concatenated into one string, as DNS defines a TXT
// record's text. A name that does not exist (NXDOMAIN) or has no TXT
// records has none, and no error. The query goes over UDP and again over
// TCP if the answer was truncated; ctx bounds both (DefaultTimeout when it
// has no deadline).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	server, err := r.serverAddr()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	q := new(dns.Msg).SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	q.RecursionDesired = true
	reply, _, err := (&dns.Client{Net: "udp"}).ExchangeContext(ctx, q, server)
	if err == nil && reply.Truncated {
		reply, _, err = (&dns.Client{Net: "tcp"}).ExchangeContext(ctx, q, server)
	}
	if err != nil {
		return nil, fmt.Errorf("query TXT %s at %s: %w", name, server, err)
	}
	switch reply.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, nil
	default:
		return nil, fmt.Errorf("query TXT %s at %s: %s", name, server, dns.RcodeToString[reply.Rcode])
	}
	var out []string
	for _, rr := range reply.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out, nil
}
