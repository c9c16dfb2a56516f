package controlplane

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
)

func TestELBTags(t *testing.T) {
	e := newELBEnv(t)
	s, ctx := e.s, t.Context()
	in := lbtInternal("tagged", e.subnets[0].ID)
	in.Tags = []model.Tag{{Key: "a", Value: "1"}}
	lb := lbtCreate(t, s, in)
	tg := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "tagged", "TCP")
	l, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(lb.ARN, 80, tg.ARN))
	if err != nil {
		t.Fatal(err)
	}
	arns := []string{lb.ARN, tg.ARN, l.ARN}

	if err := s.AddTags(ctx, netAcctA, AddTagsInput{ResourceARNs: arns, Tags: []model.Tag{{Key: "a", Value: "2"}, {Key: "b", Value: ""}}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.DescribeELBTags(ctx, netAcctA, DescribeELBTagsInput{ResourceARNs: arns})
	if err != nil {
		t.Fatal(err)
	}
	ab := []model.Tag{{Key: "a", Value: "2"}, {Key: "b", Value: ""}}
	want := []ELBTagDescription{{lb.ARN, ab}, {tg.ARN, ab}, {l.ARN, ab}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DescribeELBTags() after AddTags mismatch (-want +got):\n%s", diff)
	}

	if err := s.RemoveTags(ctx, netAcctA, RemoveTagsInput{ResourceARNs: []string{lb.ARN, l.ARN}, TagKeys: []string{"a", "absent"}}); err != nil {
		t.Fatal(err)
	}
	got, err = s.DescribeELBTags(ctx, netAcctA, DescribeELBTagsInput{ResourceARNs: []string{l.ARN, tg.ARN, lb.ARN}})
	if err != nil {
		t.Fatal(err)
	}
	b := []model.Tag{{Key: "b", Value: ""}}
	want = []ELBTagDescription{{l.ARN, b}, {tg.ARN, ab}, {lb.ARN, b}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DescribeELBTags() after RemoveTags mismatch (-want +got):\n%s", diff)
	}
	// Removing every tag leaves an empty list, not a missing one.
	if err := s.RemoveTags(ctx, netAcctA, RemoveTagsInput{ResourceARNs: []string{l.ARN}, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	got, err = s.DescribeELBTags(ctx, netAcctA, DescribeELBTagsInput{ResourceARNs: []string{l.ARN}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ELBTagDescription{{l.ARN, []model.Tag{}}}, got); diff != "" {
		t.Errorf("DescribeELBTags() of an untagged listener mismatch (-want +got):\n%s", diff)
	}
	// The tags are the resources' own: Describe of the load balancer shows
	// them too, and the load balancer is otherwise unchanged.
	lbs, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{LoadBalancerARNs: []string{lb.ARN}})
	if err != nil {
		t.Fatal(err)
	}
	wantLB := lb
	wantLB.Tags = b
	if diff := cmp.Diff(wantLB, lbs.LoadBalancers[0]); diff != "" {
		t.Errorf("load balancer after tagging mismatch (-want +got):\n%s", diff)
	}
}

func TestELBTagsBadInputs(t *testing.T) {
	e := newELBEnv(t)
	s, ctx := e.s, t.Context()
	lb := lbtCreate(t, s, lbtInternal("tagged", e.subnets[0].ID))
	tg := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "tagged", "TCP")
	var fifty []model.Tag
	for i := range 50 {
		fifty = append(fifty, model.Tag{Key: fmt.Sprintf("k%02d", i)})
	}
	if err := s.AddTags(ctx, netAcctA, AddTagsInput{ResourceARNs: []string{tg.ARN}, Tags: fifty}); err != nil {
		t.Fatal(err)
	}
	unknownTG := model.TargetGroupARN("us-east-1", netAcctA, "tagged", "0123456789abcdef")
	unknownListener := model.ListenerARN(lb.ARN, "0123456789abcdef")
	twentyOne := make([]string, 21)
	for i := range twentyOne {
		twentyOne[i] = model.LoadBalancerARN("us-east-1", netAcctA, "x", fmt.Sprintf("%016x", i))
	}
	one := []model.Tag{{Key: "k", Value: "v"}}
	tests := []badCall{
		{"51st tag (the load balancer is tagged first, then rolled back)", func() error {
			return s.AddTags(ctx, netAcctA, AddTagsInput{ResourceARNs: []string{lb.ARN, tg.ARN}, Tags: one})
		}, "TooManyTags", "You've reached the limit on the number of tags for this resource"},
		{"duplicate keys", func() error {
			return s.AddTags(ctx, netAcctA, AddTagsInput{ResourceARNs: []string{lb.ARN}, Tags: []model.Tag{{Key: "k"}, {Key: "k", Value: "v"}}})
		}, "DuplicateTagKeys", "Tag key 'k' is duplicated"},
		{"aws: key", func() error {
			return s.AddTags(ctx, netAcctA, AddTagsInput{ResourceARNs: []string{lb.ARN}, Tags: []model.Tag{{Key: "aws:x"}}})
		}, "ValidationError", "Tag keys starting with 'aws:' are reserved for internal use"},
		{"malformed ARN", func() error {
			return s.AddTags(ctx, netAcctA, AddTagsInput{ResourceARNs: []string{"arn:aws:ec2:us-east-1:111111111111:vpc/vpc-1"}, Tags: one})
		}, "ValidationError", "'arn:aws:ec2:us-east-1:111111111111:vpc/vpc-1' is not a valid resource ARN"},
		{"unknown target group", func() error {
			return s.AddTags(ctx, netAcctA, AddTagsInput{ResourceARNs: []string{lb.ARN, unknownTG}, Tags: one})
		}, "TargetGroupNotFound", "Target groups '[" + unknownTG + "]' not found"},
		{"unknown listener", func() error {
			return s.RemoveTags(ctx, netAcctA, RemoveTagsInput{ResourceARNs: []string{unknownListener}, TagKeys: []string{"k00"}})
		}, "ListenerNotFound", "Listeners '[" + unknownListener + "]' not found"},
		{"other account's load balancer", func() error {
			return s.AddTags(ctx, netAcctB, AddTagsInput{ResourceARNs: []string{lb.ARN}, Tags: one})
		}, "LoadBalancerNotFound", "Load balancers '[" + lb.ARN + "]' not found"},
		{"remove from an unknown group after a known one", func() error {
			return s.RemoveTags(ctx, netAcctA, RemoveTagsInput{ResourceARNs: []string{tg.ARN, unknownTG}, TagKeys: []string{"k00"}})
		}, "TargetGroupNotFound", "Target groups '[" + unknownTG + "]' not found"},
		{"describe 21", func() error {
			_, err := s.DescribeELBTags(ctx, netAcctA, DescribeELBTagsInput{ResourceARNs: twentyOne})
			return err
		}, "ValidationError", "You cannot describe the tags of more than 20 resources at once"},
		{"describe none", func() error {
			_, err := s.DescribeELBTags(ctx, netAcctA, DescribeELBTagsInput{})
			return err
		}, "ValidationError", "At least one resource ARN must be specified"},
		{"describe unknown", func() error {
			_, err := s.DescribeELBTags(ctx, netAcctA, DescribeELBTagsInput{ResourceARNs: []string{lb.ARN, unknownListener}})
			return err
		}, "ListenerNotFound", "Listeners '[" + unknownListener + "]' not found"},
	}
	runBadCalls(t, e.st, tests)
}
