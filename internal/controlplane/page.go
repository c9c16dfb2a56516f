package controlplane

import (
	"encoding/base64"

	"github.com/privlink/privlink/internal/awsapi"
)

// Page is a MaxResults/NextToken request. MaxResults 0 means "all".
type Page struct {
	MaxResults int32
	NextToken  string
}

// paginate returns one page of items (which must be sorted by id) and the
// token of the next page ("" on the last one). min and max are the
// MaxResults bounds of the operation; a MaxResults above max is capped, as
// AWS documents ("If the value is greater than 1000, we return only 1000
// items"), and one below min is an error.
func paginate[T any](items []T, id func(T) string, p Page, min, max int32) ([]T, string, error) {
	start, ok := resumeAfter(items, id, p.NextToken)
	if !ok {
		return nil, "", awsapi.Errorf("InvalidParameterValue", "Value (%s) for parameter NextToken is invalid. The token is invalid.", p.NextToken)
	}
	if p.MaxResults == 0 {
		return items[start:], "", nil
	}
	if p.MaxResults < min {
		return nil, "", awsapi.Errorf("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Parameter must be between %d and %d.", p.MaxResults, min, max)
	}
	n := p.MaxResults
	if n > max {
		n = max
	}
	page, next := pageFrom(items, id, start, int(n))
	return page, next, nil
}

// maxELBPageSize is the largest (and the default) PageSize of the ELBv2
// Describe calls.
const maxELBPageSize = 400

// pageByMarker returns one page of the ELBv2 Describe calls: the items
// (sorted by key, keys unique) after marker, at most pageSize of them (0
// means maxELBPageSize), and the NextMarker ("" on the last page). Like
// paginate's NextToken, the marker is the key of the last item returned.
func pageByMarker[T any](items []T, key func(T) string, marker string, pageSize int32) ([]T, string, error) {
	if pageSize == 0 {
		pageSize = maxELBPageSize
	}
	if pageSize < 1 || pageSize > maxELBPageSize {
		return nil, "", validationError("Page size must be between 1 and %d", maxELBPageSize)
	}
	start, ok := resumeAfter(items, key, marker)
	if !ok {
		return nil, "", validationError("The marker '%s' is not valid", marker)
	}
	page, next := pageFrom(items, key, start, int(pageSize))
	return page, next, nil
}

// The token of a next page (EC2's NextToken, ELBv2's NextMarker) is opaque
// to the caller: the key of the last item returned, so that a page stays
// right when items before it are deleted between calls.

// resumeAfter returns the index in items (sorted by key, keys unique) of
// the first item after the one whose key token holds: 0 for no token. ok
// is false for a token that holds no key.
func resumeAfter[T any](items []T, key func(T) string, token string) (start int, ok bool) {
	if token == "" {
		return 0, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) == 0 {
		return 0, false
	}
	after := string(raw)
	for i, it := range items {
		if key(it) > after {
			return i, true
		}
	}
	return len(items), true
}

// pageFrom returns at most n items from items[start:] and the token of the
// next page ("" when none is left).
func pageFrom[T any](items []T, key func(T) string, start, n int) ([]T, string) {
	end := start + n
	if end >= len(items) {
		return items[start:], ""
	}
	return items[start:end], base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
}
