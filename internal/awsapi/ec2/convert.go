package ec2

import (
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

// Conversions between the generated wire types and control-plane values,
// shared by every action.

// ptr returns a pointer to v, for the optional fields of outputs.
func ptr[T any](v T) *T { return &v }

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// optStr returns a pointer to s, or nil for "" (an absent output field).
func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// filtersIn converts Filter.N.
func filtersIn(in []Filter) []controlplane.Filter {
	if len(in) == 0 {
		return nil
	}
	out := make([]controlplane.Filter, 0, len(in))
	for _, f := range in {
		out = append(out, controlplane.Filter{Name: deref(f.Name), Values: f.Values})
	}
	return out
}

// pageIn converts MaxResults and NextToken.
func pageIn(maxResults *int32, nextToken *string) controlplane.Page {
	return controlplane.Page{MaxResults: deref(maxResults), NextToken: deref(nextToken)}
}

// tagsIn converts Tag.N of CreateTags and TagSpecification.N.Tag.N. A tag
// without a value has the value "", as AWS documents.
func tagsIn(in []Tag) []model.Tag {
	if len(in) == 0 {
		return nil
	}
	out := make([]model.Tag, 0, len(in))
	for _, t := range in {
		out = append(out, model.Tag{Key: deref(t.Key), Value: deref(t.Value)})
	}
	return out
}

// tagsOut converts a resource's tags to a tagSet.
func tagsOut(in []model.Tag) []Tag {
	if len(in) == 0 {
		return nil
	}
	out := make([]Tag, 0, len(in))
	for _, t := range in {
		out = append(out, Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
	}
	return out
}

// tagSpecsIn converts TagSpecification.N.
func tagSpecsIn(in []TagSpecification) []controlplane.TagSpec {
	if len(in) == 0 {
		return nil
	}
	out := make([]controlplane.TagSpec, 0, len(in))
	for _, sp := range in {
		out = append(out, controlplane.TagSpec{ResourceType: deref(sp.ResourceType), Tags: tagsIn(sp.Tags)})
	}
	return out
}

// boolAttr converts an AttributeBooleanValue ({"Value": b}) to an optional
// bool: nil when the attribute was not sent.
func boolAttr(a *AttributeBooleanValue) *bool {
	if a == nil {
		return nil
	}
	return ptr(deref(a.Value))
}

// blockPublicAccessOff is the blockPublicAccessStates of every VPC and
// subnet: privlink has no internet gateways to block.
func blockPublicAccessOff() *BlockPublicAccessStates {
	return &BlockPublicAccessStates{InternetGatewayBlockMode: ptr("off")}
}

// convertAll converts every item with f. The result is never nil, so that a
// list AWS always sends goes out as an empty wrapper when it has no items.
func convertAll[A, B any](in []A, f func(A) B) []B {
	out := make([]B, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}
