package vpcdns

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"

	"github.com/miekg/dns"
)

const (
	headerLen = 12
	// advertisedUDPSize is the largest UDP reply a resolver sends, and
	// what it advertises in EDNS: the size that avoids IP fragmentation
	// on any path (DNS flag day 2020).
	advertisedUDPSize = 1232
	// noReply is the rcode that handle returns for a message that gets
	// no reply.
	noReply = -1
)

// handle answers the DNS message query, which arrived over TCP if tcp is
// set and over UDP otherwise. It returns the packed reply and its rcode, or
// nil and noReply for a message that deserves no reply: one too short to
// carry a header, or a response (answering responses could start a loop
// between two servers). It never panics, whatever query holds.
func (t *table) handle(query []byte, tcp bool) (reply []byte, rcode int) {
	if len(query) < headerLen {
		return nil, noReply
	}
	flags := binary.BigEndian.Uint16(query[2:])
	if flags&(1<<15) != 0 { // QR: a response
		return nil, noReply
	}
	var m *dns.Msg
	size := dns.MinMsgSize
	req := new(dns.Msg)
	switch err := req.Unpack(query); {
	case int(flags>>11)&0xF != dns.OpcodeQuery:
		m = headerReply(query, dns.RcodeNotImplemented)
	case err != nil || !complete(query, req):
		m = headerReply(query, dns.RcodeFormatError)
	default:
		m = t.answer(req)
		if opt := req.IsEdns0(); opt != nil {
			size = min(max(int(opt.UDPSize()), dns.MinMsgSize), advertisedUDPSize)
		}
	}
	if tcp {
		size = dns.MaxMsgSize
	}
	m.Truncate(size)
	b, err := m.Pack()
	if err != nil {
		// Nothing in a table can cause this; answer rather than
		// leave the client waiting.
		m = headerReply(query, dns.RcodeServerFailure)
		if b, err = m.Pack(); err != nil {
			return nil, noReply
		}
	}
	return b, m.Rcode
}

// headerReply returns a reply to query that has only a header: the query's
// id, opcode and RD bit and rcode.
func headerReply(query []byte, rcode int) *dns.Msg {
	flags := binary.BigEndian.Uint16(query[2:])
	return &dns.Msg{MsgHdr: dns.MsgHdr{
		Id:               binary.BigEndian.Uint16(query),
		Response:         true,
		Opcode:           int(flags>>11) & 0xF,
		RecursionDesired: flags&(1<<8) != 0,
		Rcode:            rcode,
	}}
}

// complete reports whether req, unpacked from query, holds everything that
// query's header promises. miekg/dns accepts a message whose counts claim
// more records than it has, and a question cut short after its name.
func complete(query []byte, req *dns.Msg) bool {
	count := func(i int) int { return int(binary.BigEndian.Uint16(query[4+2*i:])) }
	if count(0) != len(req.Question) || count(1) != len(req.Answer) || count(2) != len(req.Ns) || count(3) != len(req.Extra) {
		return false
	}
	if len(req.Question) > 0 {
		_, off, err := dns.UnpackDomainName(query, headerLen)
		if err != nil || off+4 > len(query) { // type and class
			return false
		}
	}
	return true
}

// answer returns the reply to req, untruncated.
func (t *table) answer(req *dns.Msg) *dns.Msg {
	m := &dns.Msg{
		MsgHdr: dns.MsgHdr{
			Id:                 req.Id,
			Response:           true,
			Opcode:             req.Opcode,
			RecursionDesired:   req.RecursionDesired,
			RecursionAvailable: false, // no recursion, no internet
			CheckingDisabled:   req.CheckingDisabled,
		},
		Compress: true,
	}
	if req.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}

	// EDNS (RFC 6891): at most one OPT, version 0. A reply to a query
	// with an OPT carries one.
	opts := 0
	for _, rr := range req.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			opts++
		}
	}
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(advertisedUDPSize, false)
		switch {
		case opts > 1 || opt.Hdr.Name != ".":
			m.Rcode = dns.RcodeFormatError
			return m
		case opt.Version() != 0:
			m.Rcode = dns.RcodeBadVers
			return m
		}
	}

	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := req.Question[0]
	m.Question = []dns.Question{q}
	switch {
	case q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY:
		m.Rcode = dns.RcodeRefused
		return m
	case q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR:
		m.Rcode = dns.RcodeRefused // no zone transfers
		return m
	case q.Qtype == dns.TypeOPT || q.Qtype == dns.TypeTSIG || q.Qtype == dns.TypeTKEY:
		m.Rcode = dns.RcodeFormatError // not types one can ask for
		return m
	}
	m.Authoritative = true
	t.lookup(m, q)
	return m
}

// lookup fills m's answer and authority sections and rcode for q, following
// aliases within the table. The first records are owned by q.Name as asked,
// so that the answer keeps the question's case.
func (t *table) lookup(m *dns.Msg, q dns.Question) {
	owner, name := q.Name, dns.CanonicalName(q.Name)
	for hops := 0; ; hops++ {
		n := t.nodes[name]
		if n == nil {
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{soa()}
			return
		}
		if n.cname != "" && q.Qtype != dns.TypeCNAME && q.Qtype != dns.TypeANY {
			if hops == MaxCNAMEChain { // compile rejects such tables
				m.Rcode = dns.RcodeServerFailure
				return
			}
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: header(owner, dns.TypeCNAME), Target: n.cname})
			owner, name = n.cname, n.cname
			continue
		}
		rrs := n.records(owner, q.Qtype)
		if len(rrs) == 0 { // NODATA
			m.Ns = []dns.RR{soa()}
		}
		m.Answer = append(m.Answer, rrs...)
		return
	}
}

// records returns n's records of type qtype, owned by owner. Addresses come
// in a fresh random order each time: clients use the first, and a fixed
// order would send every client to the same one.
func (n *node) records(owner string, qtype uint16) []dns.RR {
	var rrs []dns.RR
	if qtype == dns.TypeCNAME || qtype == dns.TypeANY {
		if n.cname != "" {
			return []dns.RR{&dns.CNAME{Hdr: header(owner, dns.TypeCNAME), Target: n.cname}}
		}
	}
	if qtype == dns.TypeA || qtype == dns.TypeANY {
		for _, a := range shuffled(n.a) {
			rrs = append(rrs, &dns.A{Hdr: header(owner, dns.TypeA), A: a.AsSlice()})
		}
	}
	if qtype == dns.TypeAAAA || qtype == dns.TypeANY {
		for _, a := range shuffled(n.aaaa) {
			rrs = append(rrs, &dns.AAAA{Hdr: header(owner, dns.TypeAAAA), AAAA: a.AsSlice()})
		}
	}
	if qtype == dns.TypePTR || qtype == dns.TypeANY {
		for _, p := range n.ptr {
			rrs = append(rrs, &dns.PTR{Hdr: header(owner, dns.TypePTR), Ptr: p})
		}
	}
	return rrs
}

func shuffled[T any](s []T) []T {
	if len(s) < 2 {
		return s
	}
	c := make([]T, len(s))
	copy(c, s)
	rand.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	return c
}

func header(owner string, rrtype uint16) dns.RR_Header {
	return dns.RR_Header{Name: owner, Rrtype: rrtype, Class: dns.ClassINET, Ttl: TTL}
}

// soa returns the SOA that negative answers carry in their authority
// section; its TTL and MINIMUM bound how long clients cache the answer. The
// resolver is the only source of names in its VPC, so the SOA is the
// root's. A fresh record every time: packing writes into records.
func soa() *dns.SOA {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: ".", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: negativeTTL},
		Ns:      "ns.vpcdns.invalid.",
		Mbox:    "hostmaster.vpcdns.invalid.",
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  negativeTTL,
	}
}

// rcodeName returns the name of rcode, the label under which queries are
// counted.
func rcodeName(rcode int) string {
	if rcode == dns.RcodeBadVers {
		return "BADVERS" // miekg/dns names 16 BADSIG, its meaning with TSIG
	}
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rcode)
}
