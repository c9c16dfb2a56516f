package forwarder

import "net/netip"

// eligible returns the indexes of the backends that take new flows: the
// healthy ones or, when none is healthy, the healthy and unhealthy ones
// (fail open, as an NLB does when every target fails its checks). Draining
// backends never take new flows.
func eligible(bs []Backend) []int {
	var out []int
	for i, b := range bs {
		if b.State == Healthy {
			out = append(out, i)
		}
	}
	if len(out) > 0 {
		return out
	}
	for i, b := range bs {
		if b.State == Unhealthy {
			out = append(out, i)
		}
	}
	return out
}

// FNV-1a, 64 bit. Written out instead of hash/fnv so that hashing a flow
// allocates nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func fnvPort(h uint64, p uint16) uint64 {
	return fnvBytes(h, []byte{byte(p >> 8), byte(p)})
}

// flowHash hashes a flow for the choice of its backend: the client's
// address and port and the listener's address, or the client's address
// alone when sticky, so that every flow of one client lands on the same
// backend.
func flowHash(client, listen netip.AddrPort, sticky bool) uint64 {
	// As16 maps IPv4 into IPv6, so a client seen as 10.0.0.1 or as
	// ::ffff:10.0.0.1 hashes the same.
	ca := client.Addr().As16()
	h := fnvBytes(fnvOffset, ca[:])
	if !sticky {
		h = fnvPort(h, client.Port())
		la := listen.Addr().As16()
		h = fnvBytes(h, la[:])
		h = fnvPort(h, listen.Port())
	}
	// FNV's low bits mix poorly over inputs that differ in their last
	// bytes (client ports); the modulo below uses the low bits, so finish
	// with an avalanche step (the splitmix64 finaliser).
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// pick returns the index, among n eligible backends, that hash h selects.
func pick(h uint64, n int) int {
	return int(h % uint64(n))
}
