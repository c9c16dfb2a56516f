package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// Tag limits. The API reference says keys take 127 characters, but EC2
// itself answers "Tag key exceeds the maximum length of 128 characters" and
// "Tag keys must be between 1 and 128 characters in length.", and the EC2
// user guide gives 128: we follow what the service does.
const (
	maxTagsPerResource = 50
	maxTagKeyLen       = 128
	maxTagValueLen     = 256
	reservedTagPrefix  = "aws:"
)

// TagSpec is one TagSpecification of a Create* call: the resource type the
// tags are for and the tags.
type TagSpec struct {
	ResourceType string
	Tags         []model.Tag
}

// TagDeletion is one Tag.N of DeleteTags. A nil Value deletes the key
// whatever its value; a non-nil Value (even "") deletes the tag only if its
// value is exactly that.
type TagDeletion struct {
	Key   string
	Value *string
}

// TagDescription is one item of DescribeTags.
type TagDescription struct {
	ResourceID   string
	ResourceType string
	Key          string
	Value        string
}

// CreateTagsInput is the input of CreateTags.
type CreateTagsInput struct {
	ResourceIDs []string
	Tags        []model.Tag
	DryRun      bool
}

// DeleteTagsInput is the input of DeleteTags. No Tags deletes every tag
// that does not start with "aws:".
type DeleteTagsInput struct {
	ResourceIDs []string
	Tags        []TagDeletion
	DryRun      bool
}

// DescribeTagsInput is the input of DescribeTags.
type DescribeTagsInput struct {
	Filters []Filter
	Page    Page
	DryRun  bool
}

// DescribeTagsOutput is one page of DescribeTags.
type DescribeTagsOutput struct {
	Tags      []TagDescription
	NextToken string
}

// taggable is one kind of resource that carries tags: its DescribeTags
// resource type, where its records live and how its ids are reported.
type taggable struct {
	resourceType string // "vpc", also the TagSpecification ResourceType
	storeKind    string // store.KindVpc
	id           idKind
	newRecord    func() model.Tagged // a pointer to a zero record to decode into
}

// newTaggable describes a taggable kind whose records are JSON-encoded T at
// store.Key(storeKind, account, id).
func newTaggable[T any, PT interface {
	*T
	model.Tagged
}](resourceType, storeKind string, id idKind) taggable {
	return taggable{
		resourceType: resourceType,
		storeKind:    storeKind,
		id:           id,
		newRecord:    func() model.Tagged { return PT(new(T)) },
	}
}

// taggables is every kind CreateTags, DeleteTags and DescribeTags reach,
// keyed by id prefix. A new taggable resource kind is one line here.
var taggables = map[string]taggable{
	model.PrefixVpc:              newTaggable[model.Vpc]("vpc", store.KindVpc, idVpc),
	model.PrefixSubnet:           newTaggable[model.Subnet]("subnet", store.KindSubnet, idSubnet),
	model.PrefixSecurityGroup:    newTaggable[model.SecurityGroup]("security-group", store.KindSecurityGroup, idSecurityGroup),
	model.PrefixNetworkAcl:       newTaggable[model.NetworkAcl]("network-acl", store.KindNetworkAcl, idNetworkAcl),
	model.PrefixInstance:         newTaggable[model.Instance]("instance", store.KindInstance, idInstance),
	model.PrefixNetworkInterface: newTaggable[model.NetworkInterface]("network-interface", store.KindENI, idENI),
	model.PrefixVpcEndpoint:      newTaggable[model.VpcEndpoint]("vpc-endpoint", store.KindVpcEndpoint, idVpcEndpoint),
	model.PrefixVpcEndpointService: newTaggable[model.EndpointService]("vpc-endpoint-service", store.KindEndpointService,
		idEndpointService),
}

// taggableOf returns the kind of a resource id, or InvalidID ("The ID 'x'
// is not valid") for an id that is malformed or of a kind without tags.
func taggableOf(id string) (taggable, error) {
	prefix, ok := idPrefix(id)
	if ok {
		if k, found := taggables[prefix]; found {
			return k, nil
		}
	}
	return taggable{}, awsapi.Errorf("InvalidID", "The ID '%s' is not valid", id)
}

// load reads the caller's resource id of this kind; an id the caller does
// not own is the kind's NotFound error.
func (k taggable) load(tx store.ReadTx, account, id string) (model.Tagged, error) {
	b, err := tx.Get(store.Key(k.storeKind, account, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, k.id.notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", k.resourceType, id, err)
	}
	r := k.newRecord()
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", k.resourceType, id, err)
	}
	return r, nil
}

// validateTag checks one tag key and value against EC2's rules.
func validateTag(key, value string) error {
	n := utf8.RuneCountInString(key)
	switch {
	case n == 0:
		return awsapi.ErrInvalidParameterValue("Tag keys must be between 1 and %d characters in length.", maxTagKeyLen)
	case n > maxTagKeyLen:
		return awsapi.ErrInvalidParameterValue("Tag key exceeds the maximum length of %d characters", maxTagKeyLen)
	case strings.HasPrefix(key, reservedTagPrefix):
		return awsapi.ErrInvalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use")
	case utf8.RuneCountInString(value) > maxTagValueLen:
		return awsapi.ErrInvalidParameterValue("Tag value exceeds the maximum length of %d characters", maxTagValueLen)
	}
	return nil
}

// setTags sets (adds or overwrites) tags on list, keeping the order of
// existing keys, and enforces the per-resource limit.
func setTags(list []model.Tag, tags []model.Tag) ([]model.Tag, error) {
	out := append([]model.Tag(nil), list...)
	for _, t := range tags {
		i := indexTag(out, t.Key)
		if i >= 0 {
			out[i].Value = t.Value
			continue
		}
		out = append(out, t)
	}
	n := 0
	for _, t := range out {
		if !strings.HasPrefix(t.Key, reservedTagPrefix) {
			n++
		}
	}
	if n > maxTagsPerResource {
		return nil, awsapi.Errorf("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
	}
	return out, nil
}

func indexTag(list []model.Tag, key string) int {
	for i, t := range list {
		if t.Key == key {
			return i
		}
	}
	return -1
}

// applyTagSpecs turns the TagSpecifications of a Create* call that creates
// one resourceType into the new resource's tags. A specification for any
// other type is InvalidParameterValue, as AWS answers.
func applyTagSpecs(resourceType string, specs []TagSpec) ([]model.Tag, error) {
	var tags []model.Tag
	for _, sp := range specs {
		switch {
		case sp.ResourceType == "":
			return nil, awsapi.Errorf("InvalidParameter", "Tag specification resource type must have a value")
		case sp.ResourceType != resourceType:
			return nil, awsapi.ErrInvalidParameterValue("'%s' is not a valid taggable resource type for this operation.", sp.ResourceType)
		case len(sp.Tags) == 0:
			return nil, awsapi.Errorf("InvalidTagKey.Malformed", "Tag specification must have at least one tag")
		}
		for _, t := range sp.Tags {
			if err := validateTag(t.Key, t.Value); err != nil {
				return nil, err
			}
		}
		var err error
		if tags, err = setTags(tags, sp.Tags); err != nil {
			return nil, err
		}
	}
	return tags, nil
}

// CreateTags adds or overwrites tags on the caller's resources, all of them
// or none.
func (s *Service) CreateTags(ctx context.Context, account string, in CreateTagsInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if len(in.ResourceIDs) == 0 {
			return awsapi.ErrMissingParameter("resourceIdSet")
		}
		if len(in.Tags) == 0 {
			return awsapi.ErrInvalidParameterValue("You must specify one or more tags to create")
		}
		for _, t := range in.Tags {
			if err := validateTag(t.Key, t.Value); err != nil {
				return err
			}
		}
		for _, id := range dedupe(in.ResourceIDs) {
			k, err := taggableOf(id)
			if err != nil {
				return err
			}
			r, err := k.load(tx, account, id)
			if err != nil {
				return err
			}
			tags, err := setTags(*r.TagsRef(), in.Tags)
			if err != nil {
				return err
			}
			*r.TagsRef() = tags
			if err := putRecord(tx, store.Key(k.storeKind, account, id), r); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteTags removes tags from the caller's resources, all of them or none.
func (s *Service) DeleteTags(ctx context.Context, account string, in DeleteTagsInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if len(in.ResourceIDs) == 0 {
			return awsapi.ErrMissingParameter("resourceIdSet")
		}
		for _, d := range in.Tags {
			value := ""
			if d.Value != nil {
				value = *d.Value
			}
			if err := validateTag(d.Key, value); err != nil {
				return err
			}
		}
		for _, id := range dedupe(in.ResourceIDs) {
			k, err := taggableOf(id)
			if err != nil {
				return err
			}
			r, err := k.load(tx, account, id)
			if err != nil {
				return err
			}
			old := *r.TagsRef()
			kept := make([]model.Tag, 0, len(old))
			for _, t := range old {
				if !tagDeleted(t, in.Tags) {
					kept = append(kept, t)
				}
			}
			if len(kept) == len(old) {
				continue
			}
			*r.TagsRef() = kept
			if err := putRecord(tx, store.Key(k.storeKind, account, id), r); err != nil {
				return err
			}
		}
		return nil
	})
}

// tagDeleted reports whether DeleteTags with dels removes t.
func tagDeleted(t model.Tag, dels []TagDeletion) bool {
	if len(dels) == 0 {
		return !strings.HasPrefix(t.Key, reservedTagPrefix)
	}
	for _, d := range dels {
		if d.Key == t.Key && (d.Value == nil || *d.Value == t.Value) {
			return true
		}
	}
	return false
}

var tagDescriptionFilters = filterDefs[TagDescription]{
	fields: map[string]func(TagDescription) []string{
		"key":           func(t TagDescription) []string { return []string{t.Key} },
		"resource-id":   func(t TagDescription) []string { return []string{t.ResourceID} },
		"resource-type": func(t TagDescription) []string { return []string{t.ResourceType} },
		"value":         func(t TagDescription) []string { return []string{t.Value} },
	},
}

// DescribeTags lists the tags of every resource the caller owns, sorted by
// resource id then key. "tag:<key>" matches the tags with that key whose
// value matches.
func (s *Service) DescribeTags(ctx context.Context, account string, in DescribeTagsInput) (DescribeTagsOutput, error) {
	var out DescribeTagsOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		plain, byTagKey, err := splitTagKeyFilters(in.Filters)
		if err != nil {
			return err
		}
		if err := tagDescriptionFilters.validate(plain); err != nil {
			return err
		}
		var all []TagDescription
		for _, k := range sortedTaggables() {
			kvs, err := tx.List(store.AccountPrefix(k.storeKind, account))
			if err != nil {
				return fmt.Errorf("list %s: %w", k.resourceType, err)
			}
			for _, kv := range kvs {
				id := strings.TrimPrefix(kv.Key, store.AccountPrefix(k.storeKind, account))
				if !model.ValidID(k.id.prefix, id) {
					continue // not a resource record (a sub-key of one)
				}
				r := k.newRecord()
				if err := unmarshalRecord(kv, r); err != nil {
					return err
				}
				for _, t := range *r.TagsRef() {
					all = append(all, TagDescription{ResourceID: id, ResourceType: k.resourceType, Key: t.Key, Value: t.Value})
				}
			}
		}
		sort.Slice(all, func(i, j int) bool { return tagDescriptionID(all[i]) < tagDescriptionID(all[j]) })
		var items []TagDescription
		for _, t := range all {
			if tagDescriptionFilters.match(t, plain) && matchTagKeyFilters(t, byTagKey) {
				items = append(items, t)
			}
		}
		out.Tags, out.NextToken, err = paginate(items, tagDescriptionID, in.Page, 5, 1000)
		return err
	})
	return out, err
}

// tagDescriptionID is the sort and page key of a DescribeTags item.
func tagDescriptionID(t TagDescription) string { return t.ResourceID + "\x00" + t.Key }

// splitTagKeyFilters separates the "tag:<key>" filters of DescribeTags.
func splitTagKeyFilters(filters []Filter) (plain, byTagKey []Filter, err error) {
	for _, f := range filters {
		if key, ok := strings.CutPrefix(f.Name, "tag:"); ok {
			if key == "" {
				return nil, nil, awsapi.ErrInvalidParameterValue("The filter '%s' is invalid", f.Name)
			}
			byTagKey = append(byTagKey, Filter{Name: key, Values: f.Values})
			continue
		}
		plain = append(plain, f)
	}
	return plain, byTagKey, nil
}

func matchTagKeyFilters(t TagDescription, byTagKey []Filter) bool {
	for _, f := range byTagKey {
		if t.Key != f.Name || !matchAny([]string{t.Value}, f.Values) {
			return false
		}
	}
	return true
}

// sortedTaggables returns the registry in a fixed order.
func sortedTaggables() []taggable {
	out := make([]taggable, 0, len(taggables))
	for _, k := range taggables {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].resourceType < out[j].resourceType })
	return out
}

// tagFilterValues is the tags accessor of filterDefs for any Tagged record.
func tagFilterValues[T model.Tagged](r T) []model.Tag { return *r.TagsRef() }
