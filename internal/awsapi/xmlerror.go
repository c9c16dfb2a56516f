package awsapi

import (
	"bytes"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Service names: the SigV4 signing names of the two APIs, which are also the
// keys of ServerConfig.Handlers and the values of Request.Service.
const (
	ServiceEC2   = "ec2"
	ServiceELBv2 = "elasticloadbalancing"
)

// API versions sent in the Version parameter.
const (
	VersionEC2   = "2016-11-15"
	VersionELBv2 = "2015-12-01"
)

// ContentTypeXML is the Content-Type of every response, as AWS sends it.
const ContentTypeXML = "text/xml;charset=UTF-8"

const elbv2Namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// errorResponse renders e in the error envelope of service: the EC2 one
// (<Response><Errors><Error>…) for "ec2", the query-protocol one
// (<ErrorResponse><Error><Type>…) for "elasticloadbalancing". It is the one
// place where an *Error becomes XML. Code and Message are XML-escaped
// (see escape).
func errorResponse(service, requestID string, e *Error) (status int, body []byte) {
	status = e.HTTPStatus()
	if status < 400 || status > 599 {
		// A handler bug; an error must never look like a success.
		status = http.StatusInternalServerError
	}
	var b bytes.Buffer
	if service == ServiceELBv2 {
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		b.WriteString(`<ErrorResponse xmlns="` + elbv2Namespace + `"><Error><Type>` + typ + `</Type><Code>`)
		escape(&b, e.Code)
		b.WriteString(`</Code><Message>`)
		escape(&b, e.Message)
		b.WriteString(`</Message></Error><RequestId>`)
		escape(&b, requestID)
		b.WriteString(`</RequestId></ErrorResponse>`)
		return status, b.Bytes()
	}
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Response><Errors><Error><Code>`)
	escape(&b, e.Code)
	b.WriteString(`</Code><Message>`)
	escape(&b, e.Message)
	b.WriteString(`</Message></Error></Errors><RequestID>`)
	escape(&b, requestID)
	b.WriteString(`</RequestID></Response>`)
	return status, b.Bytes()
}

// escape writes s as XML character data. Only what must be escaped is
// (&, <, > and CR, which a parser would otherwise turn into LF); quotes stay
// as they are, as in AWS's own responses. Invalid UTF-8 and characters XML
// 1.0 cannot carry become U+FFFD.
func escape(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;")
		case !isXMLChar(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
}

// isXMLChar reports whether r is in the XML 1.0 Char production. (A
// decoded utf8.RuneError is U+FFFD, which is.)
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// writeXML sends a complete XML response: the AWS headers, an explicit
// Content-Length and the body in one Write, so that nothing is flushed
// early (a header-only segment would cost a delayed-ACK round trip).
func writeXML(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ContentTypeXML)
	h.Set("X-Amzn-RequestId", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	// An error here means the client has gone; there is no one to tell.
	_, _ = w.Write(body)
}
