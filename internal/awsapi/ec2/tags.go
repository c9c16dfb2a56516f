package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
)

var (
	_ CreateTagsAPI   = (*API)(nil)
	_ DeleteTagsAPI   = (*API)(nil)
	_ DescribeTagsAPI = (*API)(nil)
)

// CreateTags implements CreateTagsAPI.
func (a *API) CreateTags(ctx context.Context, req *awsapi.Request, in *CreateTagsInput) (*CreateTagsOutput, error) {
	err := a.cp.CreateTags(ctx, req.Caller.AccountID, controlplane.CreateTagsInput{
		ResourceIDs: in.Resources,
		Tags:        wireconv.Tags(in.Tags),
		DryRun:      wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &CreateTagsOutput{}, nil
}

// DeleteTags implements DeleteTagsAPI. A Tag.N without Value deletes the key
// whatever its value; with Value (even empty) only that value.
func (a *API) DeleteTags(ctx context.Context, req *awsapi.Request, in *DeleteTagsInput) (*DeleteTagsOutput, error) {
	dels := wireconv.AllOrNil(in.Tags, func(t Tag) controlplane.TagDeletion {
		return controlplane.TagDeletion{Key: wireconv.Deref(t.Key), Value: t.Value}
	})
	err := a.cp.DeleteTags(ctx, req.Caller.AccountID, controlplane.DeleteTagsInput{
		ResourceIDs: in.Resources,
		Tags:        dels,
		DryRun:      wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DeleteTagsOutput{}, nil
}

// DescribeTags implements DescribeTagsAPI.
func (a *API) DescribeTags(ctx context.Context, req *awsapi.Request, in *DescribeTagsInput) (*DescribeTagsOutput, error) {
	res, err := a.cp.DescribeTags(ctx, req.Caller.AccountID, controlplane.DescribeTagsInput{
		Filters: filtersIn(in.Filters),
		Page:    pageIn(in.MaxResults, in.NextToken),
		DryRun:  wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	tags := wireconv.All(res.Tags, func(t controlplane.TagDescription) TagDescription {
		return TagDescription{
			ResourceId:   new(t.ResourceID),
			ResourceType: new(t.ResourceType),
			Key:          new(t.Key),
			Value:        new(t.Value),
		}
	})
	return &DescribeTagsOutput{Tags: tags, NextToken: wireconv.OptString(res.NextToken)}, nil
}
