// Package sigv4 holds the pieces of AWS Signature Version 4 that signing a
// request and verifying one share: the encoding of the canonical request,
// the string to sign and the signing key. The daemon's API front
// (internal/awsapi) verifies with them and privlink's own client
// (internal/awsclient) signs with them, so the two cannot drift apart;
// the AWS SDKs and CLI in the tests check them against the real thing.
//
// It imports only the standard library.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Algorithm names SigV4 in the Authorization header and X-Amz-Algorithm.
const Algorithm = "AWS4-HMAC-SHA256"

// ScopeTerminator ends every credential scope.
const ScopeTerminator = "aws4_request"

// Scope is the credential scope of a request signed on date (YYYYMMDD)
// for service in region.
func Scope(date, region, service string) string {
	return date + "/" + region + "/" + service + "/" + ScopeTerminator
}

// URIEncode percent-encodes every byte of s outside the RFC 3986 unreserved
// set (A-Z a-z 0-9 - . _ ~) with upper-case hex, as SigV4 requires; '/' is
// kept when keepSlash is set (paths).
func URIEncode(s string, keepSlash bool) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '/' && keepSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

// CanonicalURI is the path of the canonical request: the path as sent
// (still escaped), URI-encoded once more, as every AWS service but S3
// expects and as botocore and aws-sdk-go-v2 both compute it.
func CanonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	return URIEncode(escapedPath, true)
}

// CanonicalRequest joins the parts of a canonical request.
func CanonicalRequest(method, uri, query, headers string, signedHeaders []string, payloadHash string) string {
	return method + "\n" + uri + "\n" + query + "\n" + headers + "\n" +
		strings.Join(signedHeaders, ";") + "\n" + payloadHash
}

// StringToSign is the string that a request signed at amzDate
// (YYYYMMDDTHHMMSSZ) within scope signs.
func StringToSign(amzDate, scope, canonicalRequest string) string {
	h := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
}

// SigningKey derives the signing key of secret for date, region and
// service.
func SigningKey(secret, date, region, service string) []byte {
	k := HMAC([]byte("AWS4"+secret), date)
	k = HMAC(k, region)
	k = HMAC(k, service)
	return HMAC(k, ScopeTerminator)
}

// HMAC is HMAC-SHA256 of msg with key; the signature is that of the string
// to sign with the signing key, hex-encoded.
func HMAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
