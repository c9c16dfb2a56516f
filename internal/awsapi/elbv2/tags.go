package elbv2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
)

var (
	_ AddTagsAPI      = (*API)(nil)
	_ RemoveTagsAPI   = (*API)(nil)
	_ DescribeTagsAPI = (*API)(nil)
)

// tagDescriptionOut converts the tags of one resource.
func tagDescriptionOut(d controlplane.ELBTagDescription) TagDescription {
	return TagDescription{ResourceArn: new(d.ResourceARN), Tags: tagsOut(d.Tags)}
}

// AddTags implements AddTagsAPI.
func (a *API) AddTags(ctx context.Context, req *awsapi.Request, in *AddTagsInput) (*AddTagsOutput, error) {
	err := a.cp.AddTags(ctx, req.Caller.AccountID, controlplane.AddTagsInput{ResourceARNs: in.ResourceArns, Tags: wireconv.Tags(in.Tags)})
	if err != nil {
		return nil, err
	}
	return &AddTagsOutput{}, nil
}

// RemoveTags implements RemoveTagsAPI.
func (a *API) RemoveTags(ctx context.Context, req *awsapi.Request, in *RemoveTagsInput) (*RemoveTagsOutput, error) {
	err := a.cp.RemoveTags(ctx, req.Caller.AccountID, controlplane.RemoveTagsInput{ResourceARNs: in.ResourceArns, TagKeys: in.TagKeys})
	if err != nil {
		return nil, err
	}
	return &RemoveTagsOutput{}, nil
}

// DescribeTags implements DescribeTagsAPI: ELBv2's DescribeTags, which the
// front routes here by the request's signing name.
func (a *API) DescribeTags(ctx context.Context, req *awsapi.Request, in *DescribeTagsInput) (*DescribeTagsOutput, error) {
	res, err := a.cp.DescribeELBTags(ctx, req.Caller.AccountID, controlplane.DescribeELBTagsInput{ResourceARNs: in.ResourceArns})
	if err != nil {
		return nil, err
	}
	return &DescribeTagsOutput{TagDescriptions: wireconv.All(res, tagDescriptionOut)}, nil
}
