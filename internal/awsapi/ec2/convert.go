package ec2

import (
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

// Conversions between the generated wire types and control-plane values,
// shared by every action.

// filtersIn converts Filter.N.
func filtersIn(in []Filter) []controlplane.Filter {
	if len(in) == 0 {
		return nil
	}
	out := make([]controlplane.Filter, 0, len(in))
	for _, f := range in {
		out = append(out, controlplane.Filter{Name: wireconv.Deref(f.Name), Values: f.Values})
	}
	return out
}

// pageIn converts MaxResults and NextToken.
func pageIn(maxResults *int32, nextToken *string) controlplane.Page {
	return controlplane.Page{MaxResults: wireconv.Deref(maxResults), NextToken: wireconv.Deref(nextToken)}
}

// tagsOut converts a resource's tags to a tagSet.
func tagsOut(in []model.Tag) []Tag {
	if len(in) == 0 {
		return nil
	}
	out := make([]Tag, 0, len(in))
	for _, t := range in {
		out = append(out, Tag{Key: new(t.Key), Value: new(t.Value)})
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
		out = append(out, controlplane.TagSpec{ResourceType: wireconv.Deref(sp.ResourceType), Tags: wireconv.Tags(sp.Tags)})
	}
	return out
}

// boolAttr converts an AttributeBooleanValue ({"Value": b}) to an optional
// bool: nil when the attribute was not sent.
func boolAttr(a *AttributeBooleanValue) *bool {
	if a == nil {
		return nil
	}
	return new(wireconv.Deref(a.Value))
}

// blockPublicAccessOff is the blockPublicAccessStates of every VPC and
// subnet: privlink has no internet gateways to block.
func blockPublicAccessOff() *BlockPublicAccessStates {
	return &BlockPublicAccessStates{InternetGatewayBlockMode: new("off")}
}
