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
	return wireconv.AllOrNil(in, func(f Filter) controlplane.Filter {
		return controlplane.Filter{Name: wireconv.Deref(f.Name), Values: f.Values}
	})
}

// pageIn converts MaxResults and NextToken.
func pageIn(maxResults *int32, nextToken *string) controlplane.Page {
	return controlplane.Page{MaxResults: wireconv.Deref(maxResults), NextToken: wireconv.Deref(nextToken)}
}

// tagsOut converts a resource's tags to a tagSet, left out when empty.
// Where AWS always sends the set, use wireconv.All(tags, tagOut).
func tagsOut(in []model.Tag) []Tag { return wireconv.AllOrNil(in, tagOut) }

// tagOut converts one tag.
func tagOut(t model.Tag) Tag { return Tag{Key: new(t.Key), Value: new(t.Value)} }

// tagSpecsIn converts TagSpecification.N.
func tagSpecsIn(in []TagSpecification) []controlplane.TagSpec {
	return wireconv.AllOrNil(in, func(sp TagSpecification) controlplane.TagSpec {
		return controlplane.TagSpec{ResourceType: wireconv.Deref(sp.ResourceType), Tags: wireconv.Tags(sp.Tags)}
	})
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
