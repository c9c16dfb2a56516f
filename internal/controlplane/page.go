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
	start := 0
	if p.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(p.NextToken)
		if err != nil || len(raw) == 0 {
			return nil, "", awsapi.Errorf("InvalidParameterValue", "Value (%s) for parameter NextToken is invalid. The token is invalid.", p.NextToken)
		}
		after := string(raw)
		start = len(items)
		for i, it := range items {
			if id(it) > after {
				start = i
				break
			}
		}
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
	end := start + int(n)
	if end >= len(items) {
		return items[start:], "", nil
	}
	return items[start:end], base64.RawURLEncoding.EncodeToString([]byte(id(items[end-1]))), nil
}
