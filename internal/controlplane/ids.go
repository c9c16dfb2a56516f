package controlplane

import (
	"slices"
	"strings"

	"github.com/privlink/privlink/internal/store"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
)

// idKind is how EC2 names and reports one kind of resource id: the prefix,
// the ".Malformed" code it answers for an id that is not "<prefix>-" plus 8
// or 17 lowercase hex digits, and the ".NotFound" code and messages for a
// well-formed id that the caller does not own (ids of other accounts answer
// exactly like ids that do not exist).
type idKind struct {
	prefix        string
	storeKind     string // key space in the store, e.g. store.KindVpc
	malformedCode string // "InvalidVpcID.Malformed"
	notFoundCode  string // "InvalidVpcID.NotFound"
	notFoundOne   string // format with one %s: "The vpc ID '%s' does not exist"
	notFoundMany  string // format with one %s (ids joined by ", "): "The vpc IDs '%s' do not exist"
	// bareMalformed drops the `(expecting "<prefix>-...")` hint, as EC2
	// does for instance ids: `Invalid id: "i-xyz"`.
	bareMalformed bool
}

// The id kinds of the resources the control plane has so far.
var (
	idVpc = idKind{
		prefix:        model.PrefixVpc,
		storeKind:     store.KindVpc,
		malformedCode: "InvalidVpcID.Malformed",
		notFoundCode:  "InvalidVpcID.NotFound",
		notFoundOne:   "The vpc ID '%s' does not exist",
		notFoundMany:  "The vpc IDs '%s' do not exist",
	}
	idSubnet = idKind{
		prefix:        model.PrefixSubnet,
		storeKind:     store.KindSubnet,
		malformedCode: "InvalidSubnetID.Malformed",
		notFoundCode:  "InvalidSubnetID.NotFound",
		notFoundOne:   "The subnet ID '%s' does not exist",
		notFoundMany:  "The subnet IDs '%s' do not exist",
	}
	idSecurityGroup = idKind{
		prefix:        model.PrefixSecurityGroup,
		storeKind:     store.KindSecurityGroup,
		malformedCode: "InvalidGroupId.Malformed",
		notFoundCode:  "InvalidGroup.NotFound",
		notFoundOne:   "The security group '%s' does not exist",
		notFoundMany:  "The security groups '%s' do not exist",
	}
	idNetworkAcl = idKind{
		prefix:        model.PrefixNetworkAcl,
		storeKind:     store.KindNetworkAcl,
		malformedCode: "InvalidNetworkAclID.Malformed",
		notFoundCode:  "InvalidNetworkAclID.NotFound",
		notFoundOne:   "The networkAcl ID '%s' does not exist",
		notFoundMany:  "The networkAcl IDs '%s' do not exist",
	}
	idInstance = idKind{
		prefix:        model.PrefixInstance,
		storeKind:     store.KindInstance,
		malformedCode: "InvalidInstanceID.Malformed",
		notFoundCode:  "InvalidInstanceID.NotFound",
		notFoundOne:   "The instance ID '%s' does not exist",
		notFoundMany:  "The instance IDs '%s' do not exist",
		bareMalformed: true,
	}
	// EC2 spells the Malformed code of network interfaces with "Id" and
	// the NotFound code with "ID".
	idENI = idKind{
		prefix:        model.PrefixNetworkInterface,
		storeKind:     store.KindENI,
		malformedCode: "InvalidNetworkInterfaceId.Malformed",
		notFoundCode:  "InvalidNetworkInterfaceID.NotFound",
		notFoundOne:   "The networkInterface ID '%s' does not exist",
		notFoundMany:  "The networkInterface IDs '%s' do not exist",
	}
)

// check returns the kind's Malformed error if id is not a well-formed id of
// this kind, as in `Invalid id: "vpc-xyz" (expecting "vpc-...")`.
func (k idKind) check(id string) error {
	if model.ValidID(k.prefix, id) {
		return nil
	}
	if k.bareMalformed {
		return awsapi.Errorf(k.malformedCode, "Invalid id: \"%s\"", id)
	}
	return awsapi.Errorf(k.malformedCode, "Invalid id: \"%s\" (expecting \"%s-...\")", id, k.prefix)
}

// checkAll checks every id and returns the error of the first malformed one.
func (k idKind) checkAll(ids []string) error {
	for _, id := range ids {
		if err := k.check(id); err != nil {
			return err
		}
	}
	return nil
}

// checkDescribe checks the ids a Describe call names (checkAll), and that
// they do not come with MaxResults: EC2 takes one or the other. param is
// the ids' name in the error ("vpcIdSet", "instancesSet", …).
func (k idKind) checkDescribe(ids []string, p Page, param string) error {
	if err := k.checkAll(ids); err != nil {
		return err
	}
	if len(ids) > 0 && p.MaxResults != 0 {
		return awsapi.Errorf("InvalidParameterCombination", "The parameter %s cannot be used with the parameter maxResults", param)
	}
	return nil
}

// notFound returns the kind's NotFound error for one or more ids, in the
// singular or plural form AWS uses.
func (k idKind) notFound(ids ...string) error {
	if len(ids) == 1 {
		return awsapi.Errorf(k.notFoundCode, k.notFoundOne, ids[0])
	}
	return awsapi.Errorf(k.notFoundCode, k.notFoundMany, strings.Join(ids, ", "))
}

// idPrefix returns the prefix of an id shaped "<prefix>-<8 or 17 hex>" and
// whether id has that shape at all.
func idPrefix(id string) (string, bool) {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 {
		return "", false
	}
	prefix := id[:i]
	return prefix, model.ValidID(prefix, id)
}

// dedupe returns ids without repeats, keeping the first occurrence's order.
func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// loadOwned returns the caller's resource of kind k with id: the kind's
// Malformed error for a malformed id, its NotFound error for an id the
// caller does not own.
func loadOwned[T any](tx store.ReadTx, k idKind, account, id string) (*T, error) {
	if err := k.check(id); err != nil {
		return nil, err
	}
	v, found, err := getRecord[T](tx, store.Key(k.storeKind, account, id))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, k.notFound(id)
	}
	return v, nil
}

// listOwned returns every resource of kind k owned by account, in id order.
func listOwned[T any](tx store.ReadTx, k idKind, account string) ([]*T, error) {
	return listRecords[T](tx, store.AccountPrefix(k.storeKind, account))
}

// selectOwned returns the caller's resources of kind k in id order: all of
// them, or with ids exactly those, by direct lookup (a Describe by id costs
// the same however many resources the account has). Any id the caller does
// not own is the kind's NotFound error naming every missing id, in request
// order.
func selectOwned[T any](tx store.ReadTx, k idKind, account string, ids []string) ([]*T, error) {
	if len(ids) == 0 {
		return listOwned[T](tx, k, account)
	}
	want := dedupe(ids)
	found := make(map[string]*T, len(want))
	var missing []string
	for _, id := range want {
		v, ok, err := getRecord[T](tx, store.Key(k.storeKind, account, id))
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, id)
			continue
		}
		found[id] = v
	}
	if len(missing) > 0 {
		return nil, k.notFound(missing...)
	}
	slices.Sort(want)
	out := make([]*T, 0, len(want))
	for _, id := range want {
		out = append(out, found[id])
	}
	return out, nil
}
