package model

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
)

// Resource id prefixes, as AWS uses them.
const (
	PrefixVpc               = "vpc"
	PrefixSubnet            = "subnet"
	PrefixSecurityGroup     = "sg"
	PrefixSecurityGroupRule = "sgr"
	PrefixNetworkAcl        = "acl"
	PrefixNetworkAclAssoc   = "aclassoc"
	PrefixVpcCidrAssoc      = "vpc-cidr-assoc"
	PrefixDhcpOptions       = "dopt"
	PrefixInstance          = "i"
	PrefixReservation       = "r"
	PrefixNetworkInterface  = "eni"
	PrefixENIAttachment     = "eni-attach"
	PrefixELAAttachment     = "ela-attach" // attachment of a requester-managed ENI
)

// NewID returns "<prefix>-<17 lowercase hex>", the modern AWS id form.
func NewID(prefix string) string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // rand.Read never fails on Linux
	}
	return prefix + "-" + hex.EncodeToString(b[:])[:17]
}

var idRE = regexp.MustCompile(`^([a-z]+(?:-[a-z]+)*)-([0-9a-f]{8}|[0-9a-f]{17})$`)

// ValidID reports whether id is "<prefix>-" followed by 8 or 17 lowercase hex
// digits.
func ValidID(prefix, id string) bool {
	m := idRE.FindStringSubmatch(id)
	return m != nil && m[1] == prefix
}

// NewAccountID returns a random 12-digit account id that does not start with 0.
func NewAccountID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(900_000_000_000))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return fmt.Sprintf("%012d", n.Int64()+100_000_000_000)
}

// NewAccessKey returns an access key id ("AKIA" + 16 upper-case base32-like
// characters) and a 40-character secret.
func NewAccessKey() (id, secret string) {
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	const sec = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	return "AKIA" + randString(upper, 16), randString(sec, 40)
}

func randString(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// LinkName derives a Linux interface name (at most 15 bytes) from a resource
// id. kind is a short tag such as "br" (subnet bridge). Callers record the
// result in the store; nothing ever parses it back.
func LinkName(kind, id string) string {
	sum := sha256.Sum256([]byte(id))
	return "plk" + kind + hex.EncodeToString(sum[:])[:15-3-len(kind)]
}

// NamespaceName is the network namespace of a VPC router, an instance or a
// requester-managed ENI: "plk-<id>".
func NamespaceName(id string) string { return "plk-" + id }
