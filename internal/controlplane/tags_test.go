package controlplane

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
)

func vpcTags(t *testing.T, s *Service, account, id string) []model.Tag {
	t.Helper()
	out, err := s.DescribeVpcs(t.Context(), account, DescribeVpcsInput{VpcIDs: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Vpcs[0].Tags
}

func TestCreateAndDeleteTags(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16", model.Tag{Key: "Name", Value: "one"})
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.0.0/24")

	// Create overwrites, adds, and spans kinds in one call.
	err := s.CreateTags(ctx, netAcctA, CreateTagsInput{
		ResourceIDs: []string{vpc.ID, sn.ID, vpc.ID},
		Tags:        []model.Tag{{Key: "Name", Value: "two"}, {Key: "empty"}, {Key: "Team", Value: "net"}, {Key: strings.Repeat("k", 128), Value: strings.Repeat("é", 256)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Tag{{Key: "Name", Value: "two"}, {Key: "empty"}, {Key: "Team", Value: "net"}, {Key: strings.Repeat("k", 128), Value: strings.Repeat("é", 256)}}
	if diff := cmp.Diff(want, vpcTags(t, s, netAcctA, vpc.ID)); diff != "" {
		t.Errorf("tags after CreateTags mismatch (-want +got):\n%s", diff)
	}

	steps := []struct {
		name string
		dels []TagDeletion
		want []string // remaining keys
	}{
		{"key and wrong value keeps", []TagDeletion{{Key: "Team", Value: new("other")}}, []string{"Name", "empty", "Team", strings.Repeat("k", 128)}},
		{"explicit empty value keeps a non-empty tag", []TagDeletion{{Key: "Name", Value: new("")}}, []string{"Name", "empty", "Team", strings.Repeat("k", 128)}},
		{"explicit empty value deletes an empty tag", []TagDeletion{{Key: "empty", Value: new("")}}, []string{"Name", "Team", strings.Repeat("k", 128)}},
		{"key and matching value deletes", []TagDeletion{{Key: "Team", Value: new("net")}}, []string{"Name", strings.Repeat("k", 128)}},
		{"key alone deletes whatever the value", []TagDeletion{{Key: "Name"}}, []string{strings.Repeat("k", 128)}},
		{"unknown key is fine", []TagDeletion{{Key: "nope"}}, []string{strings.Repeat("k", 128)}},
		{"no tags deletes all", nil, nil},
	}
	for _, st := range steps {
		if err := s.DeleteTags(ctx, netAcctA, DeleteTagsInput{ResourceIDs: []string{vpc.ID}, Tags: st.dels}); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var keys []string
		for _, tg := range vpcTags(t, s, netAcctA, vpc.ID) {
			keys = append(keys, tg.Key)
		}
		if diff := cmp.Diff(st.want, keys); diff != "" {
			t.Errorf("%s: keys mismatch (-want +got):\n%s", st.name, diff)
		}
	}
	// The subnet kept its tags.
	out, err := s.DescribeSubnets(ctx, netAcctA, DescribeSubnetsInput{SubnetIDs: []string{sn.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Subnets[0].Tags) != 4 {
		t.Errorf("subnet tags = %v, want 4", out.Subnets[0].Tags)
	}

	// Exactly 50 tags is fine; the limit counts existing plus new keys.
	var fifty []model.Tag
	for i := range 50 {
		fifty = append(fifty, model.Tag{Key: fmt.Sprintf("k%02d", i)})
	}
	if err := s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpc.ID}, Tags: fifty}); err != nil {
		t.Fatalf("50 tags: %v", err)
	}
	if err := s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpc.ID}, Tags: fifty[:3]}); err != nil {
		t.Fatalf("overwriting at the limit: %v", err)
	}
	wantNetErr(t, s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpc.ID}, Tags: []model.Tag{{Key: "x"}}}), "TagLimitExceeded", 400)
}

func TestTagsAreAllOrNothing(t *testing.T) {
	s, st := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	before := netRev(t, st)
	err := s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpc.ID, "subnet-0123456789abcdef0"}, Tags: []model.Tag{{Key: "a"}}})
	wantNetErr(t, err, "InvalidSubnetID.NotFound", 400)
	if netRev(t, st) != before || len(vpcTags(t, s, netAcctA, vpc.ID)) != 0 {
		t.Error("a failed CreateTags tagged the VPC")
	}
}

func TestTagSpecsReachEveryKind(t *testing.T) {
	tests := []struct {
		resourceType string
		specs        []TagSpec
		want         []model.Tag
		code         string
	}{
		{"vpc", nil, nil, ""},
		{"vpc", []TagSpec{{ResourceType: "vpc", Tags: []model.Tag{{Key: "a", Value: "1"}}}, {ResourceType: "vpc", Tags: []model.Tag{{Key: "a", Value: "2"}, {Key: "b"}}}},
			[]model.Tag{{Key: "a", Value: "2"}, {Key: "b"}}, ""},
		{"security-group", []TagSpec{{ResourceType: "vpc", Tags: []model.Tag{{Key: "a"}}}}, nil, "InvalidParameterValue"},
		{"vpc", []TagSpec{{ResourceType: "vpc", Tags: []model.Tag{{Key: strings.Repeat("x", 129)}}}}, nil, "InvalidParameterValue"},
	}
	for i, tt := range tests {
		got, err := applyTagSpecs(tt.resourceType, tt.specs)
		if tt.code != "" {
			wantNetErr(t, err, tt.code, 400)
			continue
		}
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("case %d: applyTagSpecs() mismatch (-want +got):\n%s", i, diff)
		}
	}
	for prefix, k := range taggables {
		if k.id.prefix != prefix {
			t.Errorf("taggables[%q] has id prefix %q", prefix, k.id.prefix)
		}
	}
}

func TestDescribeTags(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16", model.Tag{Key: "Name", Value: "main"}, model.Tag{Key: "env", Value: "prod"})
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.0.0/24")
	if err := s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{sn.ID}, Tags: []model.Tag{{Key: "Name", Value: "app"}}}); err != nil {
		t.Fatal(err)
	}
	if vpc.DefaultGroupID != "" {
		if err := s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpc.DefaultGroupID}, Tags: []model.Tag{{Key: "Name", Value: "sg"}}}); err != nil {
			t.Fatalf("tagging the default security group: %v", err)
		}
	}
	mustVpc(t, s, netAcctB, "10.0.0.0/16", model.Tag{Key: "Name", Value: "theirs"})

	vpcName := TagDescription{ResourceID: vpc.ID, ResourceType: "vpc", Key: "Name", Value: "main"}
	vpcEnv := TagDescription{ResourceID: vpc.ID, ResourceType: "vpc", Key: "env", Value: "prod"}
	subName := TagDescription{ResourceID: sn.ID, ResourceType: "subnet", Key: "Name", Value: "app"}
	sgName := TagDescription{ResourceID: vpc.DefaultGroupID, ResourceType: "security-group", Key: "Name", Value: "sg"}
	f := func(name string, values ...string) []Filter { return []Filter{{Name: name, Values: values}} }
	sortTD := func(ts ...TagDescription) []TagDescription {
		out := append([]TagDescription(nil), ts...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if tagDescriptionID(out[j]) < tagDescriptionID(out[i]) {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	}
	tests := []struct {
		name    string
		filters []Filter
		want    []TagDescription
	}{
		{"all of mine", nil, sortTD(vpcName, vpcEnv, subName, sgName)},
		{"resource-type", f("resource-type", "subnet"), []TagDescription{subName}},
		{"resource-type security-group", f("resource-type", "security-group"), []TagDescription{sgName}},
		{"resource-id", f("resource-id", vpc.ID), sortTD(vpcName, vpcEnv)},
		{"key", f("key", "Name"), sortTD(vpcName, subName, sgName)},
		{"value wildcard", f("value", "pr*"), []TagDescription{vpcEnv}},
		{"tag:key", f("tag:Name", "a*"), []TagDescription{subName}},
		{"tag:key matches only that key", f("tag:env", "main"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.DescribeTags(ctx, netAcctA, DescribeTagsInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.Tags); diff != "" {
				t.Errorf("DescribeTags() mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// Paging over 12 tags, 5 per page.
	var many []model.Tag
	for i := range 8 {
		many = append(many, model.Tag{Key: fmt.Sprintf("p%d", i)})
	}
	if err := s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{sn.ID}, Tags: many}); err != nil {
		t.Fatal(err)
	}
	all, err := s.DescribeTags(ctx, netAcctA, DescribeTagsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var paged []TagDescription
	token := ""
	for range 10 {
		out, err := s.DescribeTags(ctx, netAcctA, DescribeTagsInput{Page: Page{MaxResults: 5, NextToken: token}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tags) > 5 {
			t.Errorf("page of %d", len(out.Tags))
		}
		paged = append(paged, out.Tags...)
		if token = out.NextToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff(all.Tags, paged); diff != "" {
		t.Errorf("paged DescribeTags mismatch (-want +got):\n%s", diff)
	}
}
