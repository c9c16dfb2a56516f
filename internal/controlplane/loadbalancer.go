package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// Network Load Balancer limits and fixed values.
const (
	maxLoadBalancerNameLen = 32
	// maxGroupsPerLoadBalancer is AWS's quota of security groups per load
	// balancer (and per ENI, which each node is).
	maxGroupsPerLoadBalancer = maxGroupsPerENI
	// minFreeAddressesPerNode is what ELB asks of every subnet it puts a
	// node in.
	minFreeAddressesPerNode = 8
	// maxDescribeLoadBalancerARNs is DescribeLoadBalancers' limit on
	// LoadBalancerArns.
	maxDescribeLoadBalancerARNs = 20
	// elbRequesterID is who owns the nodes' ENIs, as EC2 shows them
	// (requesterId and the attachment's instanceOwnerId).
	elbRequesterID = "amazon-elb"
)

// Load balancer attribute keys of Network Load Balancers, besides the
// model.Attr* ones privlink acts on.
const (
	attrAccessLogsEnabled     = "access_logs.s3.enabled"
	attrAccessLogsBucket      = "access_logs.s3.bucket"
	attrAccessLogsPrefix      = "access_logs.s3.prefix"
	attrIPv6DenyAllIGW        = "ipv6.deny_all_igw_traffic"
	attrZonalShift            = "zonal_shift.config.enabled"
	attrDNSClientRouting      = "dns_record.client_routing_policy"
	attrSecondaryIPsPerSubnet = "secondary_ips.auto_assigned.per_subnet"

	// dnsClientRoutingAnyZone is the one dns_record.client_routing_policy
	// privlink's resolver implements, AWS's default.
	dnsClientRoutingAnyZone = "any_availability_zone"
)

// EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic values.
const (
	EnforceOn  = "on"
	EnforceOff = "off"
)

// lbAttributeDefaults are the attributes of a new internet-facing Network
// Load Balancer, as AWS reports them; an internal one has
// ipv6.deny_all_igw_traffic true ("It is set to false for internet-facing
// load balancers and true for internal load balancers"). Describe lists
// exactly these keys.
var lbAttributeDefaults = map[string]string{
	model.AttrDeletionProtection: "false",
	model.AttrCrossZone:          "false",
	attrAccessLogsEnabled:        "false",
	attrAccessLogsBucket:         "",
	attrAccessLogsPrefix:         "",
	attrIPv6DenyAllIGW:           "false",
	attrZonalShift:               "false",
	attrDNSClientRouting:         dnsClientRoutingAnyZone,
	attrSecondaryIPsPerSubnet:    "0",
}

// nlbHostedZones are the Route 53 hosted zones of Network Load Balancer
// DNS names (CanonicalHostedZoneId), by region.
var nlbHostedZones = map[string]string{
	"us-east-1":      "Z26RNL4JYFTOTI",
	"us-east-2":      "ZLMOA37VPKANP",
	"us-west-1":      "Z24FKFUX50B4VW",
	"us-west-2":      "Z18D5FSROUN65G",
	"ca-central-1":   "Z2EPGBW3API2WT",
	"sa-east-1":      "ZTK26PT1VY4CU",
	"eu-central-1":   "Z3F0SRJ5LGBH90",
	"eu-west-1":      "Z2IFOLAFXWLO4F",
	"eu-west-2":      "ZD4D7Y8KGAS4G",
	"eu-west-3":      "Z1CMS0P5QUZ6D5",
	"eu-north-1":     "Z1UDT6IFJ4EJM",
	"eu-south-1":     "Z23146JA1KNAFP",
	"ap-east-1":      "Z12Y7K3UBGUAD1",
	"ap-south-1":     "ZVDDRBQ08TROA",
	"ap-northeast-1": "Z31USIVHYNEOWT",
	"ap-northeast-2": "ZIBE1TIR4HY56",
	"ap-southeast-1": "ZKVM4W9LS7TM",
	"ap-southeast-2": "ZCT6FZBF4DROD",
	"me-south-1":     "Z3QSRYVP46NYYV",
	"af-south-1":     "Z203XCE67M25HM",
}

// nlbHostedZone returns the NLB hosted zone of region; a region AWS does
// not have (privlink's --region is free) gets us-east-1's.
func nlbHostedZone(region string) string {
	if z, ok := nlbHostedZones[region]; ok {
		return z
	}
	return nlbHostedZones["us-east-1"]
}

// SubnetMapping is one SubnetMappings.member.N of CreateLoadBalancer.
type SubnetMapping struct {
	SubnetID            string
	AllocationID        string
	PrivateIPv4Address  string
	IPv6Address         string
	SourceNatIPv6Prefix string
}

// CreateLoadBalancerInput is the input of CreateLoadBalancer. Exactly one
// of Subnets and SubnetMappings must be set.
type CreateLoadBalancerInput struct {
	Name           string
	Type           string // "" is AWS's default, application
	Scheme         string // "" is internet-facing
	IPAddressType  string // "" is ipv4
	Subnets        []string
	SubnetMappings []SubnetMapping
	SecurityGroups []string
	Tags           []model.Tag
	// Features privlink does not have; any value is an error.
	CustomerOwnedIPv4Pool        string
	IPv4IpamPoolID               string
	EnablePrefixForIPv6SourceNat string // "off" is accepted
}

// LoadBalancer is a load balancer as the API describes it: the stored load
// balancer and what the control plane derives from it.
type LoadBalancer struct {
	model.LoadBalancer
	CanonicalHostedZoneID string
}

// DescribeLoadBalancersInput is the input of DescribeLoadBalancers: the
// load balancers named by ARN or by name (not both), or all of them.
type DescribeLoadBalancersInput struct {
	LoadBalancerARNs []string
	Names            []string
	Marker           string
	PageSize         int32 // 0 means 400
}

// DescribeLoadBalancersOutput is one page of DescribeLoadBalancers.
type DescribeLoadBalancersOutput struct {
	LoadBalancers []LoadBalancer
	NextMarker    string
}

// DeleteLoadBalancerInput is the input of DeleteLoadBalancer.
type DeleteLoadBalancerInput struct {
	LoadBalancerARN string
}

// LoadBalancerAttribute is one attribute of a load balancer.
type LoadBalancerAttribute struct {
	Key   string
	Value string
}

// DescribeLoadBalancerAttributesInput is the input of
// DescribeLoadBalancerAttributes.
type DescribeLoadBalancerAttributesInput struct {
	LoadBalancerARN string
}

// ModifyLoadBalancerAttributesInput is the input of
// ModifyLoadBalancerAttributes.
type ModifyLoadBalancerAttributesInput struct {
	LoadBalancerARN string
	Attributes      []LoadBalancerAttribute
}

// SetSecurityGroupsInput is the input of SetSecurityGroups. An empty
// EnforceSGOnPrivateLink keeps the current setting.
type SetSecurityGroupsInput struct {
	LoadBalancerARN        string
	SecurityGroups         []string
	EnforceSGOnPrivateLink string
}

// SetSecurityGroupsOutput is the answer of SetSecurityGroups.
type SetSecurityGroupsOutput struct {
	SecurityGroupIDs       []string
	EnforceSGOnPrivateLink string
}

// SetSubnetsInput is the input of SetSubnets.
type SetSubnetsInput struct {
	LoadBalancerARN string
	Subnets         []string
	SubnetMappings  []SubnetMapping
	IPAddressType   string
	// EnablePrefixForIPv6SourceNat must be "" or "off".
	EnablePrefixForIPv6SourceNat string
}

// SetSubnetsOutput is the answer of SetSubnets: the load balancer's nodes.
type SetSubnetsOutput struct {
	Nodes         []model.LBNode
	IPAddressType string
}

// describeLoadBalancer derives the API view of a stored load balancer.
func (s *Service) describeLoadBalancer(lb *model.LoadBalancer) LoadBalancer {
	return LoadBalancer{LoadBalancer: *lb, CanonicalHostedZoneID: nlbHostedZone(s.region)}
}

// lbID returns the store id of a stored load balancer: its ARN's suffix.
func lbID(lb *model.LoadBalancer) string {
	r, _ := model.ParseELBARN(lb.ARN)
	return r.ID
}

// putLoadBalancer writes lb back under its key.
func putLoadBalancer(tx store.Tx, lb *model.LoadBalancer) error {
	return putRecord(tx, loadBalancerKey(lb.OwnerID, lbID(lb)), lb)
}

// checkLoadBalancerName applies AWS's rules for load balancer names.
func checkLoadBalancerName(name string) error {
	switch {
	case name == "":
		return validationError("A load balancer name must be specified")
	case len(name) > maxLoadBalancerNameLen:
		return validationError("The load balancer name '%s' cannot be longer than '%d' characters", name, maxLoadBalancerNameLen)
	}
	if !elbNameChars(name) {
		return validationError("LoadBalancer name cannot contain characters that are not letters, or digits or the dash.")
	}
	switch {
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return validationError("Name cannot begin or end with '-'")
	case strings.HasPrefix(strings.ToLower(name), "internal-"):
		return validationError("LoadBalancer name cannot begin with 'internal-'")
	}
	return nil
}

// lbSubnet is one requested node: its subnet and the address asked for.
type lbSubnet struct {
	subnet *model.Subnet
	ip     netip.Addr // zero: the lowest free address
}

// loadLBSubnet reads one of the caller's subnets for a load balancer.
func loadLBSubnet(tx store.ReadTx, account, id string) (*model.Subnet, error) {
	if model.ValidID(model.PrefixSubnet, id) {
		sn, found, err := getRecord[model.Subnet](tx, store.Key(store.KindSubnet, account, id))
		if err != nil {
			return nil, err
		}
		if found {
			return sn, nil
		}
	}
	return nil, elbError(codeSubnetNotFound, "The subnet ID '%s' is not valid", id)
}

// resolveLBSubnets checks Subnets / SubnetMappings and reads the subnets:
// the caller's, all in one VPC, one per availability zone. The result is in
// availability zone order.
func resolveLBSubnets(tx store.ReadTx, account, scheme string, subnets []string, mappings []SubnetMapping) ([]lbSubnet, error) {
	switch {
	case len(subnets) > 0 && len(mappings) > 0:
		return nil, validationError("You can specify subnets or subnet mappings, but not both")
	case len(subnets) == 0 && len(mappings) == 0:
		return nil, validationError("At least one subnet must be specified")
	}
	if len(mappings) == 0 {
		for _, id := range subnets {
			mappings = append(mappings, SubnetMapping{SubnetID: id})
		}
	}
	out := make([]lbSubnet, 0, len(mappings))
	for _, m := range mappings {
		if m.SubnetID == "" {
			return nil, validationError("A subnet ID must be specified in every subnet mapping")
		}
		if m.IPv6Address != "" || m.SourceNatIPv6Prefix != "" {
			return nil, validationError("privlink supports only the 'ipv4' IP address type; IPv6 addresses and prefixes cannot be specified")
		}
		var n lbSubnet
		if m.PrivateIPv4Address != "" {
			a, err := netip.ParseAddr(m.PrivateIPv4Address)
			if err != nil || !a.Is4() {
				return nil, validationError("The private IPv4 address '%s' is not valid", m.PrivateIPv4Address)
			}
			n.ip = a
		}
		if m.AllocationID != "" {
			if scheme == model.SchemeInternal {
				return nil, elbError(codeInvalidConfigurationRequest, "Elastic IP addresses cannot be assigned to an internal load balancer")
			}
			return nil, elbError(codeAllocationIDNotFound, "The allocation ID '%s' does not exist", m.AllocationID)
		}
		sn, err := loadLBSubnet(tx, account, m.SubnetID)
		if err != nil {
			return nil, err
		}
		n.subnet = sn
		out = append(out, n)
	}
	first := out[0].subnet
	zones := map[string]bool{}
	for _, n := range out {
		if n.subnet.VpcID != first.VpcID {
			return nil, elbError(codeInvalidConfigurationRequest, "Subnets '%s' and '%s' belong to different VPCs", first.ID, n.subnet.ID)
		}
		if zones[n.subnet.AvailabilityZone] {
			return nil, elbError(codeInvalidConfigurationRequest, "A load balancer cannot be attached to multiple subnets in the same Availability Zone")
		}
		zones[n.subnet.AvailabilityZone] = true
	}
	slices.SortFunc(out, func(a, b lbSubnet) int { return strings.Compare(a.subnet.AvailabilityZone, b.subnet.AvailabilityZone) })
	return out, nil
}

// resolveLBGroups checks the security groups of a load balancer: the
// caller's, in vpcID, at most five. It returns their ids without repeats,
// in request order.
func resolveLBGroups(tx store.ReadTx, account, vpcID string, ids []string) ([]string, error) {
	ids = dedupe(ids)
	if len(ids) > maxGroupsPerLoadBalancer {
		return nil, elbError(codeInvalidConfigurationRequest, "The maximum number of security groups per load balancer has been reached.")
	}
	for _, id := range ids {
		if !model.ValidID(model.PrefixSecurityGroup, id) {
			return nil, elbError(codeInvalidSecurityGroup, "Invalid id: \"%s\" (expecting \"sg-...\")", id)
		}
		g, found, err := getRecord[model.SecurityGroup](tx, securityGroupKey(account, id))
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, elbError(codeInvalidSecurityGroup, "The security group '%s' does not exist", id)
		}
		if g.VpcID != vpcID {
			return nil, elbError(codeInvalidSecurityGroup, "Security group '%s' does not belong to VPC '%s'", id, vpcID)
		}
	}
	return ids, nil
}

// checkNodeAddress checks that a requested node address may be taken in
// sn: inside the subnet, not reserved, free.
func checkNodeAddress(tx store.ReadTx, sn *model.Subnet, a netip.Addr) error {
	p, err := subnetPrefix(sn)
	if err != nil {
		return err
	}
	if !p.Contains(a) {
		return elbError(codeInvalidConfigurationRequest, "The private IPv4 address '%s' is not within the CIDR block of subnet '%s'", a, sn.ID)
	}
	first, last := usableRange(p)
	if v := addrToUint(a); v < first || v > last {
		return elbError(codeInvalidConfigurationRequest, "The private IPv4 address '%s' is reserved in subnet '%s'", a, sn.ID)
	}
	_, err = tx.Get(subnetAddressKey(sn.ID, a))
	switch {
	case err == nil:
		return elbError(codeInvalidConfigurationRequest, "The private IPv4 address '%s' is already in use in subnet '%s'", a, sn.ID)
	case isNotFound(err):
		return nil
	default:
		return fmt.Errorf("get address %s of %s: %w", a, sn.ID, err)
	}
}

// sameLoadBalancerConfig reports whether lb was created with the settings
// of a repeated CreateLoadBalancer: type and scheme, IP address type, the
// subnets with their requested addresses, and the security groups.
func sameLoadBalancerConfig(lb *model.LoadBalancer, scheme, ipType string, nodes []lbSubnet, groups []string) bool {
	if lb.Type != model.LoadBalancerTypeNetwork || lb.Scheme != scheme || lb.IPAddressType != ipType || len(lb.Nodes) != len(nodes) {
		return false
	}
	for i, n := range lb.Nodes { // both are in availability zone order
		want := nodes[i]
		if n.SubnetID != want.subnet.ID || n.RequestedIP != want.ip.IsValid() || (n.RequestedIP && n.PrivateIP != want.ip.String()) {
			return false
		}
	}
	a, b := slices.Clone(lb.SecurityGroups), slices.Clone(groups)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// CreateLoadBalancer creates an internal Network Load Balancer in state
// provisioning, with one node per subnet (a requester-managed ENI, in
// availability zone order), in one transaction; the controller moves it to
// active once the nodes are up. Repeating the call with the same name and
// settings returns the existing load balancer, as AWS does.
func (s *Service) CreateLoadBalancer(ctx context.Context, account string, in CreateLoadBalancerInput) (LoadBalancer, error) {
	var out LoadBalancer
	err := s.update(ctx, false, func(tx store.Tx) error {
		switch in.Type {
		case model.LoadBalancerTypeNetwork:
		case "":
			return validationError("privlink serves only network load balancers: set Type to 'network' (the default type, 'application', is not supported)")
		default:
			return validationError("privlink serves only network load balancers: load balancer type '%s' is not supported", in.Type)
		}
		if err := checkLoadBalancerName(in.Name); err != nil {
			return err
		}
		if err := elbTagsIn(in.Tags); err != nil {
			return err
		}
		ipType := in.IPAddressType
		switch ipType {
		case "":
			ipType = model.IPAddressTypeIPv4
		case model.IPAddressTypeIPv4:
		default:
			return validationError("privlink supports only the 'ipv4' IP address type, not '%s'", ipType)
		}
		switch {
		case in.CustomerOwnedIPv4Pool != "":
			return validationError("Customer-owned IPv4 pools are not supported for network load balancers")
		case in.IPv4IpamPoolID != "":
			return validationError("IPAM pools are not supported for network load balancers")
		case in.EnablePrefixForIPv6SourceNat != "" && in.EnablePrefixForIPv6SourceNat != "off":
			return validationError("privlink supports only the 'ipv4' IP address type; EnablePrefixForIpv6SourceNat must be 'off'")
		}
		scheme := in.Scheme
		switch scheme {
		case "":
			scheme = model.SchemeInternetFacing
		case model.SchemeInternal, model.SchemeInternetFacing:
		default:
			return validationError("Scheme '%s' must be one of 'internet-facing, internal'", scheme)
		}
		nodes, err := resolveLBSubnets(tx, account, scheme, in.Subnets, in.SubnetMappings)
		if err != nil {
			return err
		}
		vpcID := nodes[0].subnet.VpcID
		if scheme == model.SchemeInternetFacing {
			// privlink's VPCs have no internet gateways.
			return elbError(codeInvalidSubnet, "VPC %s has no internet gateway", vpcID)
		}
		groups, err := resolveLBGroups(tx, account, vpcID, in.SecurityGroups)
		if err != nil {
			return err
		}
		all, err := listLoadBalancers(tx, account)
		if err != nil {
			return err
		}
		for _, lb := range all {
			if !strings.EqualFold(lb.Name, in.Name) {
				continue
			}
			if sameLoadBalancerConfig(lb, scheme, ipType, nodes, groups) {
				out = s.describeLoadBalancer(lb)
				return nil
			}
			return elbError(codeDuplicateLoadBalancerName, "A load balancer with the same name '%s' exists, but with different settings", in.Name)
		}
		for _, n := range nodes {
			if n.ip.IsValid() {
				if err := checkNodeAddress(tx, n.subnet, n.ip); err != nil {
					return err
				}
			}
			free, err := freeAddresses(tx, n.subnet, minFreeAddressesPerNode)
			if err != nil {
				return err
			}
			if len(free) < minFreeAddressesPerNode {
				return elbError(codeInvalidSubnet, "Not enough IP space available in %s. ELB requires at least %d free IP addresses in each subnet.", n.subnet.ID, minFreeAddressesPerNode)
			}
		}
		suffix := model.NewELBSuffix()
		lb := &model.LoadBalancer{
			ARN:            model.LoadBalancerARN(s.region, account, in.Name, suffix),
			Name:           in.Name,
			OwnerID:        account,
			VpcID:          vpcID,
			Type:           model.LoadBalancerTypeNetwork,
			Scheme:         scheme,
			IPAddressType:  ipType,
			State:          model.LBProvisioning,
			DNSName:        model.LoadBalancerDNSName(s.region, in.Name, suffix),
			SecurityGroups: groups,
			Nodes:          make([]model.LBNode, 0, len(nodes)),
			Attributes:     make(map[string]string, len(lbAttributeDefaults)),
			Tags:           in.Tags,
			Created:        s.now().UTC(),
		}
		if len(groups) == 0 {
			lb.SecurityGroups = nil
		} else {
			lb.EnforceSGOnPrivateLink = EnforceOn
		}
		for k, v := range lbAttributeDefaults {
			lb.Attributes[k] = v
		}
		if scheme == model.SchemeInternal {
			lb.Attributes[attrIPv6DenyAllIGW] = "true"
		}
		for _, n := range nodes {
			eni, err := s.createENI(tx, eniParams{
				Subnet:           n.subnet,
				PrivateIP:        n.ip,
				Groups:           groups,
				InterfaceType:    model.InterfaceTypeNetworkLoadBalancer,
				Description:      "ELB net/" + in.Name + "/" + suffix,
				RequesterManaged: true,
				RequesterID:      elbRequesterID,
				InstanceOwnerID:  elbRequesterID,
				DeviceIndex:      1,
			})
			if err != nil {
				return err
			}
			lb.Nodes = append(lb.Nodes, model.LBNode{
				SubnetID:           n.subnet.ID,
				AvailabilityZone:   n.subnet.AvailabilityZone,
				AvailabilityZoneID: n.subnet.AvailabilityZoneID,
				ENIID:              eni.ID,
				PrivateIP:          eni.PrivateIP,
				RequestedIP:        n.ip.IsValid(),
			})
		}
		if err := putRecord(tx, loadBalancerKey(account, suffix), lb); err != nil {
			return err
		}
		out = s.describeLoadBalancer(lb)
		return nil
	})
	if err != nil {
		return LoadBalancer{}, err
	}
	return out, nil
}

// lbOrderKey orders load balancers the way DescribeLoadBalancers lists
// them: by creation, then name, then ARN.
func lbOrderKey(lb LoadBalancer) string {
	return lb.Created.UTC().Format("20060102T150405.000000000") + "\x00" + lb.Name + "\x00" + lb.ARN
}

// DescribeLoadBalancers describes the caller's load balancers: those named
// by ARN (at most 20) or by name (not both; every one must exist, else
// LoadBalancerNotFound), or all, in creation order, one page at a time.
func (s *Service) DescribeLoadBalancers(ctx context.Context, account string, in DescribeLoadBalancersInput) (DescribeLoadBalancersOutput, error) {
	var out DescribeLoadBalancersOutput
	err := s.view(ctx, false, func(tx store.ReadTx) error {
		switch {
		case len(in.LoadBalancerARNs) > 0 && len(in.Names) > 0:
			return validationError("Load balancer names and load balancer ARNs cannot be specified at the same time")
		case len(in.LoadBalancerARNs) > maxDescribeLoadBalancerARNs:
			return validationError("You cannot describe more than %d load balancers by ARN at once", maxDescribeLoadBalancerARNs)
		}
		var stored []*model.LoadBalancer
		switch {
		case len(in.LoadBalancerARNs) > 0:
			var err error
			stored, err = loadEach(in.LoadBalancerARNs, func(arn string) (*model.LoadBalancer, error) {
				return s.loadLoadBalancer(tx, account, arn)
			}, codeLoadBalancerNotFound, msgLoadBalancersNotFound)
			if err != nil {
				return err
			}
		default:
			all, err := listLoadBalancers(tx, account)
			if err != nil {
				return err
			}
			if len(in.Names) == 0 {
				stored = all
				break
			}
			// Names are unique per account regardless of case (see
			// CreateLoadBalancer), and found regardless of case.
			byName := make(map[string]*model.LoadBalancer, len(all))
			for _, lb := range all {
				byName[strings.ToLower(lb.Name)] = lb
			}
			for _, name := range dedupe(in.Names) {
				lb, ok := byName[strings.ToLower(name)]
				if !ok {
					return elbError(codeLoadBalancerNotFound, "One or more load balancers not found")
				}
				stored = append(stored, lb)
			}
		}
		items := make([]LoadBalancer, 0, len(stored))
		seen := make(map[string]bool, len(stored))
		for _, lb := range stored {
			if !seen[lb.ARN] {
				seen[lb.ARN] = true
				items = append(items, s.describeLoadBalancer(lb))
			}
		}
		slices.SortFunc(items, func(a, b LoadBalancer) int { return strings.Compare(lbOrderKey(a), lbOrderKey(b)) })
		var err error
		out.LoadBalancers, out.NextMarker, err = pageByMarker(items, lbOrderKey, in.Marker, in.PageSize)
		return err
	})
	if err != nil {
		return DescribeLoadBalancersOutput{}, err
	}
	return out, nil
}

// DeleteLoadBalancer deletes one of the caller's load balancers with its
// listeners and its nodes' ENIs, in one transaction. A load balancer that
// does not exist (or no longer does) is not an error, as AWS documents; one
// with deletion protection is OperationNotPermitted.
func (s *Service) DeleteLoadBalancer(ctx context.Context, account string, in DeleteLoadBalancerInput) error {
	return s.update(ctx, false, func(tx store.Tx) error {
		lb, err := s.loadLoadBalancer(tx, account, in.LoadBalancerARN)
		if isELBError(err, codeLoadBalancerNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if lb.Attributes[model.AttrDeletionProtection] == "true" {
			return elbError(codeOperationNotPermitted, "Load balancer '%s' cannot be deleted because deletion protection is enabled", lb.ARN)
		}
		// A load balancer an endpoint service uses stays, as in AWS.
		svc, err := serviceUsingLoadBalancer(tx, account, lb.ARN)
		if err != nil {
			return err
		}
		if svc != nil {
			return elbError(codeResourceInUse, "Load balancer '%s' cannot be deleted because it is currently associated with another service", lb.ARN)
		}
		listeners, err := listenersOf(tx, account, lb.ARN)
		if err != nil {
			return err
		}
		for _, l := range listeners {
			if err := tx.Delete(listenerKey(account, listenerID(l))); err != nil {
				return fmt.Errorf("delete listener %s: %w", l.ARN, err)
			}
		}
		for _, n := range lb.Nodes {
			eni, found, err := getRecord[model.NetworkInterface](tx, eniKey(account, n.ENIID))
			if err != nil {
				return err
			}
			if found {
				if err := s.deleteENI(tx, eni); err != nil {
					return err
				}
			}
		}
		if err := tx.Delete(loadBalancerKey(account, lbID(lb))); err != nil {
			return fmt.Errorf("delete load balancer %s: %w", lb.ARN, err)
		}
		return nil
	})
}

// lbAttributes returns every attribute of lb, sorted by key.
func lbAttributes(lb *model.LoadBalancer) []LoadBalancerAttribute {
	out := make([]LoadBalancerAttribute, 0, len(lb.Attributes))
	for k, v := range lb.Attributes {
		out = append(out, LoadBalancerAttribute{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b LoadBalancerAttribute) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// DescribeLoadBalancerAttributes returns every attribute of one of the
// caller's load balancers, sorted by key.
func (s *Service) DescribeLoadBalancerAttributes(ctx context.Context, account string, in DescribeLoadBalancerAttributesInput) ([]LoadBalancerAttribute, error) {
	var out []LoadBalancerAttribute
	err := s.view(ctx, false, func(tx store.ReadTx) error {
		lb, err := s.loadLoadBalancer(tx, account, in.LoadBalancerARN)
		if err != nil {
			return err
		}
		out = lbAttributes(lb)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkLBAttribute validates one attribute of ModifyLoadBalancerAttributes.
func checkLBAttribute(a LoadBalancerAttribute) error {
	invalid := func() error {
		return validationError("Load balancer attribute value '%s' is not valid for attribute key '%s'", a.Value, a.Key)
	}
	switch a.Key {
	case model.AttrDeletionProtection, model.AttrCrossZone:
		if a.Value != "true" && a.Value != "false" {
			return invalid()
		}
	case attrIPv6DenyAllIGW, attrZonalShift:
		// Kept and reported, and honest either way: privlink has no IPv6
		// and no internet gateway to deny, and no zonal shift to allow,
		// so neither value changes anything until those exist.
		if a.Value != "true" && a.Value != "false" {
			return invalid()
		}
	case attrAccessLogsEnabled:
		switch a.Value {
		case "false":
		case "true":
			return elbError(codeInvalidConfigurationRequest, "privlink cannot write access logs: there is no S3 to write them to")
		default:
			return invalid()
		}
	case attrAccessLogsBucket, attrAccessLogsPrefix:
	case attrDNSClientRouting:
		switch a.Value {
		case dnsClientRoutingAnyZone:
		case "availability_zone_affinity", "partial_availability_zone_affinity":
			// The VPC resolver answers every client with the nodes of
			// every zone that has a healthy target: any_availability_zone.
			return unsupportedAttrValue(a.Key, a.Value, dnsClientRoutingAnyZone)
		default:
			return invalid()
		}
	case attrSecondaryIPsPerSubnet:
		n, err := strconv.Atoi(a.Value)
		if err != nil || n < 0 || n > 7 {
			return invalid()
		}
		if n != 0 {
			return elbError(codeInvalidConfigurationRequest, "privlink does not assign secondary IP addresses to load balancer nodes")
		}
	default:
		// Unknown keys, and those of Application Load Balancers only
		// (idle_timeout.timeout_seconds, routing.http.*, waf.*, ...).
		return validationError("Load balancer attribute key '%s' is not recognized", a.Key)
	}
	return nil
}

// ModifyLoadBalancerAttributes changes attributes of one of the caller's
// load balancers. Every attribute is checked before any is changed; the
// answer is every attribute after the change, sorted by key.
func (s *Service) ModifyLoadBalancerAttributes(ctx context.Context, account string, in ModifyLoadBalancerAttributesInput) ([]LoadBalancerAttribute, error) {
	var out []LoadBalancerAttribute
	err := s.update(ctx, false, func(tx store.Tx) error {
		lb, err := s.loadLoadBalancer(tx, account, in.LoadBalancerARN)
		if err != nil {
			return err
		}
		for _, a := range in.Attributes {
			if err := checkLBAttribute(a); err != nil {
				return err
			}
		}
		changed := false
		for _, a := range in.Attributes {
			if lb.Attributes[a.Key] != a.Value {
				lb.Attributes[a.Key] = a.Value
				changed = true
			}
		}
		if changed {
			if err := putLoadBalancer(tx, lb); err != nil {
				return err
			}
		}
		out = lbAttributes(lb)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetSecurityGroups replaces the security groups of one of the caller's
// load balancers, on the load balancer and on every node's ENI, and sets
// whether their inbound rules apply to PrivateLink traffic. As in AWS, a
// Network Load Balancer created without security groups cannot get any.
func (s *Service) SetSecurityGroups(ctx context.Context, account string, in SetSecurityGroupsInput) (SetSecurityGroupsOutput, error) {
	var out SetSecurityGroupsOutput
	err := s.update(ctx, false, func(tx store.Tx) error {
		switch in.EnforceSGOnPrivateLink {
		case "", EnforceOn, EnforceOff:
		default:
			return validationError("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic must be one of 'on, off'")
		}
		lb, err := s.loadLoadBalancer(tx, account, in.LoadBalancerARN)
		if err != nil {
			return err
		}
		if len(lb.SecurityGroups) == 0 {
			return elbError(codeInvalidConfigurationRequest, "You can't perform this operation on a Network Load Balancer unless you specified a security group for the load balancer when you created it")
		}
		if len(in.SecurityGroups) == 0 {
			return validationError("At least one security group must be specified for a Network Load Balancer that has security groups")
		}
		groups, err := resolveLBGroups(tx, account, lb.VpcID, in.SecurityGroups)
		if err != nil {
			return err
		}
		lb.SecurityGroups = groups
		if in.EnforceSGOnPrivateLink != "" {
			lb.EnforceSGOnPrivateLink = in.EnforceSGOnPrivateLink
		}
		for _, n := range lb.Nodes {
			eni, found, err := getRecord[model.NetworkInterface](tx, eniKey(account, n.ENIID))
			if err != nil {
				return err
			}
			if !found || slices.Equal(eni.Groups, groups) {
				continue
			}
			eni.Groups = slices.Clone(groups)
			if err := putRecord(tx, eniKey(account, eni.ID), eni); err != nil {
				return err
			}
		}
		if err := putLoadBalancer(tx, lb); err != nil {
			return err
		}
		out = SetSecurityGroupsOutput{SecurityGroupIDs: slices.Clone(groups), EnforceSGOnPrivateLink: lb.EnforceSGOnPrivateLink}
		return nil
	})
	if err != nil {
		return SetSecurityGroupsOutput{}, err
	}
	return out, nil
}

// SetSubnets answers a request for the subnets a load balancer already has
// with its nodes; any change of subnets is OperationNotPermitted, because
// privlink cannot move or add nodes of an existing load balancer yet.
func (s *Service) SetSubnets(ctx context.Context, account string, in SetSubnetsInput) (SetSubnetsOutput, error) {
	var out SetSubnetsOutput
	err := s.view(ctx, false, func(tx store.ReadTx) error {
		lb, err := s.loadLoadBalancer(tx, account, in.LoadBalancerARN)
		if err != nil {
			return err
		}
		if in.IPAddressType != "" && in.IPAddressType != lb.IPAddressType {
			return validationError("privlink supports only the 'ipv4' IP address type, not '%s'", in.IPAddressType)
		}
		if in.EnablePrefixForIPv6SourceNat != "" && in.EnablePrefixForIPv6SourceNat != "off" {
			return validationError("privlink supports only the 'ipv4' IP address type; EnablePrefixForIpv6SourceNat must be 'off'")
		}
		nodes, err := resolveLBSubnets(tx, account, lb.Scheme, in.Subnets, in.SubnetMappings)
		if err != nil {
			return err
		}
		if !sameLoadBalancerConfig(lb, lb.Scheme, lb.IPAddressType, nodes, lb.SecurityGroups) {
			return elbError(codeOperationNotPermitted, "privlink cannot change the subnets of a load balancer yet: delete and recreate load balancer '%s' instead", lb.ARN)
		}
		out = SetSubnetsOutput{Nodes: slices.Clone(lb.Nodes), IPAddressType: lb.IPAddressType}
		return nil
	})
	if err != nil {
		return SetSubnetsOutput{}, err
	}
	return out, nil
}

// isELBError reports whether err is the AWS error with code.
func isELBError(err error, code string) bool {
	var ae *awsapi.Error
	return errors.As(err, &ae) && ae.Code == code
}
