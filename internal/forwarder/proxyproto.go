package forwarder

import (
	"encoding/binary"
	"net/netip"
)

// Proxy Protocol v2 constants, from the HAProxy specification
// (proxy-protocol.txt, section 2.2) and AWS's TLV for the endpoint id.
const (
	ppv2Proxy    = 0x21 // version 2, command PROXY
	ppv2Local    = 0x20 // version 2, command LOCAL
	ppv2TCP4     = 0x11 // AF_INET, SOCK_STREAM
	ppv2TCP6     = 0x21 // AF_INET6, SOCK_STREAM
	ppv2Unspec   = 0x00
	ppv2TypeAWS  = 0xEA // PP2_TYPE_AWS
	ppv2AWSVPCE  = 0x01 // PP2_SUBTYPE_AWS_VPCE_ID
	ppv2HeadSize = 16   // signature, version/command, family, length
)

// ppv2Sig is the 12-byte signature that starts every v2 header.
var ppv2Sig = [12]byte{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A}

// appendProxyV2 appends a Proxy Protocol v2 PROXY header for a TCP flow from
// src to dst to b. A non-empty endpointID adds the AWS TLV (type 0xEA,
// subtype 0x01) that carries it, as a PrivateLink endpoint does; an id too
// long for the header's 16-bit length is left out rather than truncated.
//
// IPv4 addresses, also IPv4-mapped ones, use the TCP4 block; a flow with an
// IPv6 side uses TCP6 with the IPv4 side mapped.
func appendProxyV2(b []byte, src, dst netip.AddrPort, endpointID string) []byte {
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	fam, addrLen := byte(ppv2TCP4), 12
	if !sa.Is4() || !da.Is4() {
		fam, addrLen = ppv2TCP6, 36
	}
	tlvLen := 0
	if endpointID != "" && addrLen+3+1+len(endpointID) <= 0xFFFF {
		tlvLen = 3 + 1 + len(endpointID)
	}
	b = append(b, ppv2Sig[:]...)
	b = append(b, ppv2Proxy, fam)
	b = binary.BigEndian.AppendUint16(b, uint16(addrLen+tlvLen))
	if fam == ppv2TCP4 {
		s, d := sa.As4(), da.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	} else {
		s, d := sa.As16(), da.As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	if tlvLen > 0 {
		b = append(b, ppv2TypeAWS)
		b = binary.BigEndian.AppendUint16(b, uint16(1+len(endpointID)))
		b = append(b, ppv2AWSVPCE)
		b = append(b, endpointID...)
	}
	return b
}

// appendProxyLocal appends a Proxy Protocol v2 LOCAL header, with no
// addresses, to b: what a load balancer sends on its own health checks, so
// that a target expecting a header accepts them.
func appendProxyLocal(b []byte) []byte {
	b = append(b, ppv2Sig[:]...)
	return append(b, ppv2Local, ppv2Unspec, 0, 0)
}
