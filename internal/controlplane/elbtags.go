package controlplane

import (
	"context"
	"slices"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// maxDescribeTagsARNs is ELBv2 DescribeTags' limit on ResourceArns.
const maxDescribeTagsARNs = 20

// AddTagsInput is the input of ELBv2 AddTags.
type AddTagsInput struct {
	ResourceARNs []string
	Tags         []model.Tag
}

// RemoveTagsInput is the input of ELBv2 RemoveTags.
type RemoveTagsInput struct {
	ResourceARNs []string
	TagKeys      []string
}

// DescribeELBTagsInput is the input of ELBv2 DescribeTags (not EC2's
// DescribeTags, which is DescribeTagsInput).
type DescribeELBTagsInput struct {
	ResourceARNs []string
}

// ELBTagDescription is one TagDescriptions.member of ELBv2 DescribeTags.
type ELBTagDescription struct {
	ResourceARN string
	Tags        []model.Tag // never nil
}

// elbResource is a tagged ELBv2 resource read for a tag operation.
type elbResource struct {
	key string
	rec model.Tagged
}

// loadELBResource reads one of the caller's load balancers, target groups
// or listeners by ARN, with the NotFound error of its kind. An ARN of no
// ELBv2 resource privlink has is a ValidationError.
func (s *Service) loadELBResource(tx store.ReadTx, account, arn string) (elbResource, error) {
	r, ok := model.ParseELBARN(arn)
	if !ok {
		return elbResource{}, validationError("'%s' is not a valid resource ARN", arn)
	}
	switch r.Kind {
	case "loadbalancer":
		lb, err := s.loadLoadBalancer(tx, account, arn)
		if err != nil {
			return elbResource{}, err
		}
		return elbResource{key: loadBalancerKey(account, r.ID), rec: lb}, nil
	case "targetgroup":
		tg, err := s.loadTargetGroup(tx, account, arn)
		if err != nil {
			return elbResource{}, err
		}
		return elbResource{key: targetGroupKey(account, r.ID), rec: tg}, nil
	default: // "listener"
		l, err := s.loadListener(tx, account, arn)
		if err != nil {
			return elbResource{}, err
		}
		return elbResource{key: listenerKey(account, r.ID), rec: l}, nil
	}
}

// AddTags adds tags to the caller's load balancers, target groups and
// listeners, in one transaction: a key a resource has already gets the new
// value. A resource may carry at most 50 tags.
func (s *Service) AddTags(ctx context.Context, account string, in AddTagsInput) error {
	return s.update(ctx, false, func(tx store.Tx) error {
		if len(in.ResourceARNs) == 0 {
			return validationError("At least one resource ARN must be specified")
		}
		if err := elbTagsIn(in.Tags); err != nil {
			return err
		}
		for _, arn := range dedupe(in.ResourceARNs) {
			res, err := s.loadELBResource(tx, account, arn)
			if err != nil {
				return err
			}
			tags := res.rec.TagsRef()
			merged := slices.Clone(*tags)
			for _, t := range in.Tags {
				if i := slices.IndexFunc(merged, func(o model.Tag) bool { return o.Key == t.Key }); i >= 0 {
					merged[i].Value = t.Value
				} else {
					merged = append(merged, t)
				}
			}
			if err := elbTagsIn(merged); err != nil {
				return err
			}
			*tags = merged
			if err := putRecord(tx, res.key, res.rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveTags removes the tags with the given keys from the caller's load
// balancers, target groups and listeners, in one transaction. A key a
// resource does not have is not an error.
func (s *Service) RemoveTags(ctx context.Context, account string, in RemoveTagsInput) error {
	return s.update(ctx, false, func(tx store.Tx) error {
		if len(in.ResourceARNs) == 0 {
			return validationError("At least one resource ARN must be specified")
		}
		for _, arn := range dedupe(in.ResourceARNs) {
			res, err := s.loadELBResource(tx, account, arn)
			if err != nil {
				return err
			}
			tags := res.rec.TagsRef()
			kept := slices.DeleteFunc(slices.Clone(*tags), func(t model.Tag) bool { return slices.Contains(in.TagKeys, t.Key) })
			if len(kept) == len(*tags) {
				continue
			}
			*tags = kept
			if err := putRecord(tx, res.key, res.rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// DescribeELBTags returns the tags of the caller's load balancers, target
// groups and listeners (at most 20), in request order (ELBv2 DescribeTags).
func (s *Service) DescribeELBTags(ctx context.Context, account string, in DescribeELBTagsInput) ([]ELBTagDescription, error) {
	var out []ELBTagDescription
	err := s.view(ctx, false, func(tx store.ReadTx) error {
		arns := dedupe(in.ResourceARNs)
		switch {
		case len(arns) == 0:
			return validationError("At least one resource ARN must be specified")
		case len(arns) > maxDescribeTagsARNs:
			return validationError("You cannot describe the tags of more than %d resources at once", maxDescribeTagsARNs)
		}
		out = make([]ELBTagDescription, 0, len(arns))
		for _, arn := range arns {
			res, err := s.loadELBResource(tx, account, arn)
			if err != nil {
				return err
			}
			tags := slices.Clone(*res.rec.TagsRef())
			if tags == nil {
				tags = []model.Tag{}
			}
			out = append(out, ELBTagDescription{ResourceARN: arn, Tags: tags})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
