package elbv2

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
)

type lbwXMLTagDescription struct {
	ResourceARN string      `xml:"ResourceArn"`
	Tags        []lbwXMLTag `xml:"Tags>member"`
}

type lbwXMLTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func TestTagActions(t *testing.T) {
	w := newWorld(t)
	lbARN := w.lb("tagged")
	tg := w.targetGroup("tagged")
	w.mustQuery(query("Action", "AddTags", "Version", "2015-12-01", "ResourceArns.member.1", lbARN, "ResourceArns.member.2", tg,
		"Tags.member.1.Key", "env", "Tags.member.1.Value", "prod", "Tags.member.2.Key", "empty"), nil)
	w.mustQuery(query("Action", "RemoveTags", "Version", "2015-12-01", "ResourceArns.member.1", tg, "TagKeys.member.1", "env"), nil)
	var out struct {
		Descriptions []lbwXMLTagDescription `xml:"DescribeTagsResult>TagDescriptions>member"`
	}
	w.mustQuery(query("Action", "DescribeTags", "Version", "2015-12-01", "ResourceArns.member.1", tg, "ResourceArns.member.2", lbARN), &out)
	want := []lbwXMLTagDescription{
		{ResourceARN: tg, Tags: []lbwXMLTag{{"empty", ""}}},
		{ResourceARN: lbARN, Tags: []lbwXMLTag{{"env", "prod"}, {"empty", ""}}},
	}
	if diff := cmp.Diff(want, out.Descriptions); diff != "" {
		t.Errorf("DescribeTags mismatch (-want +got):\n%s", diff)
	}

	unknown := model.ListenerARN(lbARN, "0123456789abcdef")
	err := w.callQuery(query("Action", "DescribeTags", "Version", "2015-12-01", "ResourceArns.member.1", unknown), nil)
	wantErr(t, err, "ListenerNotFound", "Listeners '["+unknown+"]' not found")
	err = w.callQuery(query("Action", "AddTags", "Version", "2015-12-01", "ResourceArns.member.1", "not-an-arn", "Tags.member.1.Key", "k"), nil)
	wantErr(t, err, "ValidationError", "'not-an-arn' is not a valid resource ARN")
	err = w.callQuery(query("Action", "AddTags", "Version", "2015-12-01", "ResourceArns.member.1", lbARN, "Tags.member.1.Key", "k", "Tags.member.2.Key", "k"), nil)
	wantErr(t, err, "DuplicateTagKeys", "Tag key 'k' is duplicated")
}
