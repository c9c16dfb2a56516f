// Package txtserver is a tiny authoritative DNS server on 127.0.0.1 (UDP and
// TCP on one port) that answers TXT queries from a table its user fills in.
// It plays the provider's public DNS zone, where the TXT record that proves
// an endpoint service's private DNS name goes: `privlink demo` and the e2e
// tests run one and make it the daemon's verification resolver. The daemon
// itself only asks (package txtlookup) and never runs one.
//
// It imports only miekg/dns and the standard library, and nothing of
// privlink.
package txtserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Server is a running TXT server.
type Server struct {
	addr     string // host:port, the same for UDP and TCP
	udp, tcp *dns.Server

	mu      sync.Mutex
	records map[string]string // lower-case FQDN → its TXT value
	queries []string          // "TYPE name" of every query, in order
}

// Start listens on a free port of 127.0.0.1, UDP and TCP, and serves until
// Close.
func Start() (*Server, error) {
	s := &Server{records: map[string]string{}}
	var err error
	for range 10 { // the TCP port may be taken where the UDP one was free
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("TXT server: %w", err)
		}
		var ln net.Listener
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			continue
		}
		s.addr = pc.LocalAddr().String()
		s.udp = &dns.Server{PacketConn: pc, Handler: s}
		s.tcp = &dns.Server{Listener: ln, Handler: s}
		break
	}
	if s.udp == nil {
		return nil, fmt.Errorf("TXT server: %w", err)
	}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }() // returns when shut down
		<-started
	}
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Set publishes value as the one TXT record of name.
func (s *Server) Set(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[strings.ToLower(dns.Fqdn(name))] = value
}

// Queries returns "TYPE name" for every query the server has had.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// Close stops both listeners.
func (s *Server) Close(ctx context.Context) error {
	return errors.Join(s.udp.ShutdownContext(ctx), s.tcp.ShutdownContext(ctx))
}

// ServeDNS answers TXT queries for the names set, NOERROR without answers
// for other types of those names, and NXDOMAIN for anything else.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg).SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m) // nothing to do about a lost answer
		return
	}
	q := req.Question[0]
	s.mu.Lock()
	val, ok := s.records[strings.ToLower(q.Name)]
	s.queries = append(s.queries, dns.TypeToString[q.Qtype]+" "+q.Name)
	s.mu.Unlock()
	switch {
	case !ok:
		m.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY:
		m.Answer = append(m.Answer, &dns.TXT{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0},
			Txt: []string{val},
		})
	}
	_ = w.WriteMsg(m) // nothing to do about a lost answer
}
