package controlplane

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// lbtInternal is the input of an internal network load balancer in subnets.
func lbtInternal(name string, subnets ...string) CreateLoadBalancerInput {
	return CreateLoadBalancerInput{Name: name, Type: "network", Scheme: "internal", Subnets: subnets}
}

func lbtCreate(t *testing.T, s *Service, in CreateLoadBalancerInput) LoadBalancer {
	t.Helper()
	lb, err := s.CreateLoadBalancer(t.Context(), netAcctA, in)
	if err != nil {
		t.Fatalf("CreateLoadBalancer(%s): %v", in.Name, err)
	}
	return lb
}

// lbtTargetGroup stores a target group directly, standing in for
// CreateTargetGroup.
func lbtTargetGroup(t *testing.T, st store.Store, account, vpcID, name, protocol string) *model.TargetGroup {
	t.Helper()
	suffix := model.NewELBSuffix()
	tg := &model.TargetGroup{
		ARN: model.TargetGroupARN("us-east-1", account, name, suffix), Name: name, OwnerID: account, VpcID: vpcID,
		Protocol: protocol, Port: 8080, TargetType: model.TargetTypeInstance, IPAddressType: model.IPAddressTypeIPv4,
		Attributes: map[string]string{}, Created: testEpoch,
	}
	putTestRecords(t, st, map[string]any{targetGroupKey(account, suffix): tg})
	return tg
}

func lbtENIs(t *testing.T, s *Service, account string, lb LoadBalancer) []NetworkInterface {
	t.Helper()
	var ids []string
	for _, n := range lb.Nodes {
		ids = append(ids, n.ENIID)
	}
	out, err := s.DescribeNetworkInterfaces(t.Context(), account, DescribeNetworkInterfacesInput{NetworkInterfaceIDs: ids})
	if err != nil {
		t.Fatalf("DescribeNetworkInterfaces(%v): %v", ids, err)
	}
	return out.NetworkInterfaces
}

func TestCreateLoadBalancer(t *testing.T) {
	e := newELBEnv(t)
	sa, sb, sc := e.subnets[0], e.subnets[1], e.subnets[2]
	in := CreateLoadBalancerInput{
		Name: "My-NLB", Type: "network", Scheme: "internal",
		// Out of zone order, one with an address asked for.
		SubnetMappings: []SubnetMapping{{SubnetID: sc.ID}, {SubnetID: sa.ID, PrivateIPv4Address: "10.0.1.50"}},
		SecurityGroups: []string{e.sg.ID, e.sg.ID},
		Tags:           []model.Tag{{Key: "team", Value: "net"}},
	}
	lb := lbtCreate(t, e.s, in)
	r, ok := model.ParseELBARN(lb.ARN)
	if !ok || r.Kind != "loadbalancer" || r.Account != netAcctA || r.Region != "us-east-1" {
		t.Fatalf("ARN %q is not a load balancer ARN of %s", lb.ARN, netAcctA)
	}
	if lb.ARN != model.LoadBalancerARN("us-east-1", netAcctA, "My-NLB", r.ID) {
		t.Errorf("ARN = %q", lb.ARN)
	}
	if len(lb.Nodes) != 2 {
		t.Fatalf("nodes = %+v, want 2", lb.Nodes)
	}
	want := LoadBalancer{
		LoadBalancer: model.LoadBalancer{
			ARN: lb.ARN, Name: "My-NLB", OwnerID: netAcctA, VpcID: e.vpc.ID, Type: "network", Scheme: "internal",
			IPAddressType: "ipv4", State: "provisioning", DNSName: "my-nlb-" + r.ID + ".elb.us-east-1.amazonaws.com",
			SecurityGroups: []string{e.sg.ID},
			Nodes: []model.LBNode{
				{SubnetID: sa.ID, AvailabilityZone: "us-east-1a", AvailabilityZoneID: sa.AvailabilityZoneID, ENIID: lb.Nodes[0].ENIID, PrivateIP: "10.0.1.50", RequestedIP: true},
				{SubnetID: sc.ID, AvailabilityZone: "us-east-1c", AvailabilityZoneID: sc.AvailabilityZoneID, ENIID: lb.Nodes[1].ENIID, PrivateIP: "10.0.3.4"},
			},
			Attributes: map[string]string{
				"deletion_protection.enabled": "false", "load_balancing.cross_zone.enabled": "false",
				"access_logs.s3.enabled": "false", "access_logs.s3.bucket": "", "access_logs.s3.prefix": "",
				"ipv6.deny_all_igw_traffic": "true", "zonal_shift.config.enabled": "false",
				"dns_record.client_routing_policy": "any_availability_zone", "secondary_ips.auto_assigned.per_subnet": "0",
			},
			Tags:                   []model.Tag{{Key: "team", Value: "net"}},
			Created:                testEpoch,
			EnforceSGOnPrivateLink: "on",
		},
		CanonicalHostedZoneID: "Z26RNL4JYFTOTI",
	}
	if diff := cmp.Diff(want, lb); diff != "" {
		t.Errorf("CreateLoadBalancer() mismatch (-want +got):\n%s", diff)
	}

	// Each node is a requester-managed ENI of the load balancer.
	type eniView struct {
		Subnet, IP, Type, Description, Status, RequesterID, AttachmentOwner string
		RequesterManaged                                                    bool
		Groups                                                              []string
	}
	var got []eniView
	for _, n := range lbtENIs(t, e.s, netAcctA, lb) {
		got = append(got, eniView{n.SubnetID, n.PrivateIP, n.InterfaceType, n.Description, n.Status, n.RequesterID, n.AttachmentOwner, n.RequesterManaged, n.Groups})
	}
	desc := "ELB net/My-NLB/" + r.ID
	wantENIs := []eniView{
		{sa.ID, "10.0.1.50", "network_load_balancer", desc, "in-use", "amazon-elb", "amazon-elb", true, []string{e.sg.ID}},
		{sc.ID, "10.0.3.4", "network_load_balancer", desc, "in-use", "amazon-elb", "amazon-elb", true, []string{e.sg.ID}},
	}
	if lb.Nodes[0].ENIID > lb.Nodes[1].ENIID { // DescribeNetworkInterfaces sorts by id
		wantENIs[0], wantENIs[1] = wantENIs[1], wantENIs[0]
	}
	if diff := cmp.Diff(wantENIs, got); diff != "" {
		t.Errorf("node ENIs mismatch (-want +got):\n%s", diff)
	}

	// The same name and settings answer the existing load balancer (the
	// order of subnets and groups does not matter); tags are not applied.
	again := in
	again.SubnetMappings = []SubnetMapping{in.SubnetMappings[1], in.SubnetMappings[0]}
	again.Tags = []model.Tag{{Key: "other", Value: "x"}}
	if got := lbtCreate(t, e.s, again); got.ARN != lb.ARN || len(got.Tags) != 1 {
		t.Errorf("repeated CreateLoadBalancer = %s %v, want %s with its own tags", got.ARN, got.Tags, lb.ARN)
	}
	// Without security groups EnforceSecurityGroupInbound... is not set.
	plain := lbtCreate(t, e.s, lbtInternal("plain", sb.ID))
	if plain.EnforceSGOnPrivateLink != "" || plain.SecurityGroups != nil || plain.Nodes[0].RequestedIP {
		t.Errorf("plain = %+v, want no groups, no enforce, no requested address", plain.LoadBalancer)
	}
}

// TestLoadBalancerBadInputs runs bad inputs against one populated store and
// checks the code, the message and that nothing was written.
func TestLoadBalancerBadInputs(t *testing.T) {
	e := newELBEnv(t)
	s, ctx := e.s, t.Context()
	sa, sb := e.subnets[0], e.subnets[1]
	lb := lbtCreate(t, s, lbtInternal("taken", sa.ID))
	withSG := lbtCreate(t, s, CreateLoadBalancerInput{Name: "with-sg", Type: "network", Scheme: "internal", Subnets: []string{sb.ID}, SecurityGroups: []string{e.sg.ID}})
	otherSubnet, subB := e.otherSn, e.foreignSn
	otherSG := mustGroup(t, s, netAcctA, e.otherVpc.ID, "other")
	sa2 := mustSubnet(t, s, netAcctA, e.vpc.ID, "10.0.9.0/24") // zone a again? picked by the allocator
	var sameZone string
	for _, sn := range []Subnet{sa, sb, e.subnets[2]} {
		if sn.AvailabilityZone == sa2.AvailabilityZone {
			sameZone = sn.ID
		}
	}
	tiny, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: e.vpc.ID, CidrBlock: "10.0.10.0/28", AvailabilityZone: "us-east-1c"})
	if err != nil {
		t.Fatal(err)
	}
	// Fill the /28 (11 usable addresses) but for 5.
	if _, err := e.st.Update(ctx, func(tx store.Tx) error {
		sn, err := loadSubnet(tx, netAcctA, tiny.ID)
		if err != nil {
			return err
		}
		for range 6 {
			if _, err := s.createENI(tx, eniParams{Subnet: sn}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var six []string
	for i := range 6 {
		g := mustGroup(t, s, netAcctA, e.vpc.ID, fmt.Sprintf("g%d", i))
		six = append(six, g.ID)
	}
	long := strings.Repeat("a", 33)
	otherAcctARN := strings.Replace(lb.ARN, netAcctA, netAcctB, 1)
	unknownARN := model.LoadBalancerARN("us-east-1", netAcctA, "taken", "0123456789abcdef")
	create := func(mod func(*CreateLoadBalancerInput)) func() error {
		return func() error {
			in := lbtInternal("new-lb", sa.ID)
			mod(&in)
			_, err := s.CreateLoadBalancer(ctx, netAcctA, in)
			return err
		}
	}
	tests := []badCall{
		{"type absent means application", create(func(in *CreateLoadBalancerInput) { in.Type = "" }),
			"ValidationError", "privlink serves only network load balancers: set Type to 'network' (the default type, 'application', is not supported)"},
		{"gateway", create(func(in *CreateLoadBalancerInput) { in.Type = "gateway" }),
			"ValidationError", "privlink serves only network load balancers: load balancer type 'gateway' is not supported"},
		{"name too long", create(func(in *CreateLoadBalancerInput) { in.Name = long }),
			"ValidationError", "The load balancer name '" + long + "' cannot be longer than '32' characters"},
		{"name with underscore", create(func(in *CreateLoadBalancerInput) { in.Name = "my_lb" }),
			"ValidationError", "LoadBalancer name cannot contain characters that are not letters, or digits or the dash."},
		{"name ends with hyphen", create(func(in *CreateLoadBalancerInput) { in.Name = "lb-" }),
			"ValidationError", "Name cannot begin or end with '-'"},
		{"name begins with internal-", create(func(in *CreateLoadBalancerInput) { in.Name = "internal-lb" }),
			"ValidationError", "LoadBalancer name cannot begin with 'internal-'"},
		{"dualstack", create(func(in *CreateLoadBalancerInput) { in.IPAddressType = "dualstack" }),
			"ValidationError", "privlink supports only the 'ipv4' IP address type, not 'dualstack'"},
		{"subnets and mappings", create(func(in *CreateLoadBalancerInput) { in.SubnetMappings = []SubnetMapping{{SubnetID: sb.ID}} }),
			"ValidationError", "You can specify subnets or subnet mappings, but not both"},
		{"no subnet", create(func(in *CreateLoadBalancerInput) { in.Subnets = nil }),
			"ValidationError", "At least one subnet must be specified"},
		{"internet-facing by default", create(func(in *CreateLoadBalancerInput) { in.Scheme = "" }),
			"InvalidSubnet", "VPC " + e.vpc.ID + " has no internet gateway"},
		{"unknown subnet", create(func(in *CreateLoadBalancerInput) { in.Subnets = []string{"subnet-0123456789abcdef0"} }),
			"SubnetNotFound", "The subnet ID 'subnet-0123456789abcdef0' is not valid"},
		{"malformed subnet", create(func(in *CreateLoadBalancerInput) { in.Subnets = []string{"sn-1"} }),
			"SubnetNotFound", "The subnet ID 'sn-1' is not valid"},
		{"other account's subnet", create(func(in *CreateLoadBalancerInput) { in.Subnets = []string{subB.ID} }),
			"SubnetNotFound", "The subnet ID '" + subB.ID + "' is not valid"},
		{"subnets of two VPCs", create(func(in *CreateLoadBalancerInput) { in.Subnets = []string{sa.ID, otherSubnet.ID} }),
			"InvalidConfigurationRequest", "Subnets '" + sa.ID + "' and '" + otherSubnet.ID + "' belong to different VPCs"},
		{"two subnets in one zone", create(func(in *CreateLoadBalancerInput) { in.Subnets = []string{sameZone, sa2.ID} }),
			"InvalidConfigurationRequest", "A load balancer cannot be attached to multiple subnets in the same Availability Zone"},
		{"unknown security group", create(func(in *CreateLoadBalancerInput) { in.SecurityGroups = []string{"sg-0123456789abcdef0"} }),
			"InvalidSecurityGroup", "The security group 'sg-0123456789abcdef0' does not exist"},
		{"security group of another VPC", create(func(in *CreateLoadBalancerInput) { in.SecurityGroups = []string{otherSG.ID} }),
			"InvalidSecurityGroup", "Security group '" + otherSG.ID + "' does not belong to VPC '" + e.vpc.ID + "'"},
		{"six security groups", create(func(in *CreateLoadBalancerInput) { in.SecurityGroups = six }),
			"InvalidConfigurationRequest", "The maximum number of security groups per load balancer has been reached."},
		{"address outside the subnet", create(func(in *CreateLoadBalancerInput) {
			in.Subnets, in.SubnetMappings = nil, []SubnetMapping{{SubnetID: sa.ID, PrivateIPv4Address: "10.0.2.10"}}
		}), "InvalidConfigurationRequest", "The private IPv4 address '10.0.2.10' is not within the CIDR block of subnet '" + sa.ID + "'"},
		{"reserved address", create(func(in *CreateLoadBalancerInput) {
			in.Subnets, in.SubnetMappings = nil, []SubnetMapping{{SubnetID: sa.ID, PrivateIPv4Address: "10.0.1.1"}}
		}), "InvalidConfigurationRequest", "The private IPv4 address '10.0.1.1' is reserved in subnet '" + sa.ID + "'"},
		{"address in use", create(func(in *CreateLoadBalancerInput) {
			in.Subnets, in.SubnetMappings = nil, []SubnetMapping{{SubnetID: sa.ID, PrivateIPv4Address: lb.Nodes[0].PrivateIP}}
		}), "InvalidConfigurationRequest", "The private IPv4 address '" + lb.Nodes[0].PrivateIP + "' is already in use in subnet '" + sa.ID + "'"},
		{"not an address", create(func(in *CreateLoadBalancerInput) {
			in.Subnets, in.SubnetMappings = nil, []SubnetMapping{{SubnetID: sa.ID, PrivateIPv4Address: "10.0.1"}}
		}), "ValidationError", "The private IPv4 address '10.0.1' is not valid"},
		{"allocation id on an internal load balancer", create(func(in *CreateLoadBalancerInput) {
			in.Subnets, in.SubnetMappings = nil, []SubnetMapping{{SubnetID: sa.ID, AllocationID: "eipalloc-12345678"}}
		}), "InvalidConfigurationRequest", "Elastic IP addresses cannot be assigned to an internal load balancer"},
		{"allocation id", create(func(in *CreateLoadBalancerInput) {
			in.Scheme, in.Subnets, in.SubnetMappings = "internet-facing", nil, []SubnetMapping{{SubnetID: sa.ID, AllocationID: "eipalloc-12345678"}}
		}), "AllocationIdNotFound", "The allocation ID 'eipalloc-12345678' does not exist"},
		{"subnet too full", create(func(in *CreateLoadBalancerInput) { in.Subnets = []string{tiny.ID} }),
			"InvalidSubnet", "Not enough IP space available in " + tiny.ID + ". ELB requires at least 8 free IP addresses in each subnet."},
		{"same name, other settings", create(func(in *CreateLoadBalancerInput) { in.Name = "TAKEN"; in.Subnets = []string{sb.ID} }),
			"DuplicateLoadBalancerName", "A load balancer with the same name 'TAKEN' exists, but with different settings"},
		{"51 tags", create(func(in *CreateLoadBalancerInput) {
			for i := range 51 {
				in.Tags = append(in.Tags, model.Tag{Key: fmt.Sprint(i)})
			}
		}), "TooManyTags", "You've reached the limit on the number of tags for this resource"},
		{"describe by ARN and name", func() error {
			_, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{LoadBalancerARNs: []string{lb.ARN}, Names: []string{"taken"}})
			return err
		}, "ValidationError", "Load balancer names and load balancer ARNs cannot be specified at the same time"},
		{"describe malformed ARN", func() error {
			_, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{LoadBalancerARNs: []string{lb.ARN, lb.ARN + "0"}})
			return err
		}, "ValidationError", "'" + lb.ARN + "0' is not a valid load balancer ARN"},
		{"describe unknown ARNs", func() error {
			_, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{LoadBalancerARNs: []string{lb.ARN, otherAcctARN, unknownARN}})
			return err
		}, "LoadBalancerNotFound", "Load balancers '[" + otherAcctARN + ", " + unknownARN + "]' not found"},
		{"describe other account's ARN", func() error {
			_, err := s.DescribeLoadBalancers(ctx, netAcctB, DescribeLoadBalancersInput{LoadBalancerARNs: []string{lb.ARN}})
			return err
		}, "LoadBalancerNotFound", "Load balancers '[" + lb.ARN + "]' not found"},
		{"describe unknown name", func() error {
			_, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{Names: []string{"taken", "nope"}})
			return err
		}, "LoadBalancerNotFound", "One or more load balancers not found"},
		{"describe 21 ARNs", func() error {
			arns := make([]string, 21)
			for i := range arns {
				arns[i] = lb.ARN
			}
			_, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{LoadBalancerARNs: arns})
			return err
		}, "ValidationError", "You cannot describe more than 20 load balancers by ARN at once"},
		{"describe bad marker", func() error {
			_, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{Marker: "!!"})
			return err
		}, "ValidationError", "The marker '!!' is not valid"},
		{"delete malformed ARN", func() error {
			return s.DeleteLoadBalancer(ctx, netAcctA, DeleteLoadBalancerInput{LoadBalancerARN: "arn:aws:ec2:us-east-1:111111111111:vpc/vpc-1"})
		}, "ValidationError", "'arn:aws:ec2:us-east-1:111111111111:vpc/vpc-1' is not a valid load balancer ARN"},
		{"modify unknown attribute", func() error {
			_, err := s.ModifyLoadBalancerAttributes(ctx, netAcctA, ModifyLoadBalancerAttributesInput{LoadBalancerARN: lb.ARN, Attributes: []LoadBalancerAttribute{
				{Key: "deletion_protection.enabled", Value: "true"}, {Key: "idle_timeout.timeout_seconds", Value: "60"},
			}})
			return err
		}, "ValidationError", "Load balancer attribute key 'idle_timeout.timeout_seconds' is not recognized"},
		{"modify attribute with a bad boolean", func() error {
			_, err := s.ModifyLoadBalancerAttributes(ctx, netAcctA, ModifyLoadBalancerAttributesInput{LoadBalancerARN: lb.ARN, Attributes: []LoadBalancerAttribute{
				{Key: "load_balancing.cross_zone.enabled", Value: "yes"},
			}})
			return err
		}, "ValidationError", "Load balancer attribute value 'yes' is not valid for attribute key 'load_balancing.cross_zone.enabled'"},
		{"enable access logs", func() error {
			_, err := s.ModifyLoadBalancerAttributes(ctx, netAcctA, ModifyLoadBalancerAttributesInput{LoadBalancerARN: lb.ARN, Attributes: []LoadBalancerAttribute{
				{Key: "deletion_protection.enabled", Value: "true"}, {Key: "access_logs.s3.enabled", Value: "true"},
			}})
			return err
		}, "InvalidConfigurationRequest", "privlink cannot write access logs: there is no S3 to write them to"},
		{"modify attributes of an unknown load balancer", func() error {
			_, err := s.ModifyLoadBalancerAttributes(ctx, netAcctB, ModifyLoadBalancerAttributesInput{LoadBalancerARN: lb.ARN, Attributes: []LoadBalancerAttribute{
				{Key: "deletion_protection.enabled", Value: "true"},
			}})
			return err
		}, "LoadBalancerNotFound", "Load balancers '[" + lb.ARN + "]' not found"},
		{"security groups on a load balancer created without", func() error {
			_, err := s.SetSecurityGroups(ctx, netAcctA, SetSecurityGroupsInput{LoadBalancerARN: lb.ARN, SecurityGroups: []string{e.sg.ID}})
			return err
		}, "InvalidConfigurationRequest", "You can't perform this operation on a Network Load Balancer unless you specified a security group for the load balancer when you created it"},
		{"security group of another VPC later", func() error {
			_, err := s.SetSecurityGroups(ctx, netAcctA, SetSecurityGroupsInput{LoadBalancerARN: withSG.ARN, SecurityGroups: []string{otherSG.ID}})
			return err
		}, "InvalidSecurityGroup", "Security group '" + otherSG.ID + "' does not belong to VPC '" + e.vpc.ID + "'"},
		{"no security groups left", func() error {
			_, err := s.SetSecurityGroups(ctx, netAcctA, SetSecurityGroupsInput{LoadBalancerARN: withSG.ARN})
			return err
		}, "ValidationError", "At least one security group must be specified for a Network Load Balancer that has security groups"},
		{"bad enforce value", func() error {
			_, err := s.SetSecurityGroups(ctx, netAcctA, SetSecurityGroupsInput{LoadBalancerARN: withSG.ARN, SecurityGroups: []string{e.sg.ID}, EnforceSGOnPrivateLink: "yes"})
			return err
		}, "ValidationError", "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic must be one of 'on, off'"},
		{"change subnets", func() error {
			_, err := s.SetSubnets(ctx, netAcctA, SetSubnetsInput{LoadBalancerARN: lb.ARN, Subnets: []string{sa.ID, sb.ID}})
			return err
		}, "OperationNotPermitted", "privlink cannot change the subnets of a load balancer yet: delete and recreate load balancer '" + lb.ARN + "' instead"},
	}
	runBadCalls(t, e.st, tests)
}

func TestDescribeLoadBalancers(t *testing.T) {
	e := newELBEnv(t)
	s, ctx := e.s, t.Context()
	var arns []string
	for _, name := range []string{"c-lb", "a-lb", "b-lb"} {
		arns = append(arns, lbtCreate(t, s, lbtInternal(name, e.subnets[0].ID)).ARN)
	}
	names := func(lbs []LoadBalancer) []string {
		out := []string{}
		for _, lb := range lbs {
			out = append(out, lb.Name)
		}
		return out
	}
	// All, in creation order (the clock is stopped: then by name).
	all, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a-lb", "b-lb", "c-lb"}, names(all.LoadBalancers)); diff != "" || all.NextMarker != "" {
		t.Errorf("DescribeLoadBalancers() mismatch (-want +got):\n%s (marker %q)", diff, all.NextMarker)
	}
	// Paging one at a time.
	var paged []string
	marker := ""
	for range 5 {
		page, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{PageSize: 1, Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, names(page.LoadBalancers)...)
		if marker = page.NextMarker; marker == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{"a-lb", "b-lb", "c-lb"}, paged); diff != "" {
		t.Errorf("paged DescribeLoadBalancers() mismatch (-want +got):\n%s", diff)
	}
	// By ARN and by name (names regardless of case), without repeats.
	byARN, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{LoadBalancerARNs: []string{arns[0], arns[2], arns[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b-lb", "c-lb"}, names(byARN.LoadBalancers)); diff != "" {
		t.Errorf("DescribeLoadBalancers(ARNs) mismatch (-want +got):\n%s", diff)
	}
	byName, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{Names: []string{"A-LB", "a-lb"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a-lb"}, names(byName.LoadBalancers)); diff != "" {
		t.Errorf("DescribeLoadBalancers(Names) mismatch (-want +got):\n%s", diff)
	}
	// Another account sees none of them.
	other, err := s.DescribeLoadBalancers(ctx, netAcctB, DescribeLoadBalancersInput{})
	if err != nil || len(other.LoadBalancers) != 0 {
		t.Errorf("DescribeLoadBalancers(account B) = %v, %v; want none", names(other.LoadBalancers), err)
	}
}

func TestDeleteLoadBalancer(t *testing.T) {
	e := newELBEnv(t)
	s, ctx := e.s, t.Context()
	lb := lbtCreate(t, s, lbtInternal("doomed", e.subnets[0].ID, e.subnets[1].ID))
	keep := lbtCreate(t, s, lbtInternal("keep", e.subnets[0].ID))
	tg := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "tg", "TCP")
	for _, port := range []int32{80, 443} {
		if _, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(lb.ARN, port, tg.ARN)); err != nil {
			t.Fatal(err)
		}
	}
	keepTG := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "keep-tg", "TCP")
	kept, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(keep.ARN, 80, keepTG.ARN))
	if err != nil {
		t.Fatal(err)
	}

	// Deletion protection first.
	if _, err := s.ModifyLoadBalancerAttributes(ctx, netAcctA, ModifyLoadBalancerAttributesInput{LoadBalancerARN: lb.ARN, Attributes: []LoadBalancerAttribute{{Key: "deletion_protection.enabled", Value: "true"}}}); err != nil {
		t.Fatal(err)
	}
	err = s.DeleteLoadBalancer(ctx, netAcctA, DeleteLoadBalancerInput{LoadBalancerARN: lb.ARN})
	wantNetErr(t, err, "OperationNotPermitted", http.StatusBadRequest)
	wantMessage(t, err, "Load balancer '"+lb.ARN+"' cannot be deleted because deletion protection is enabled")
	if _, err := s.ModifyLoadBalancerAttributes(ctx, netAcctA, ModifyLoadBalancerAttributesInput{LoadBalancerARN: lb.ARN, Attributes: []LoadBalancerAttribute{{Key: "deletion_protection.enabled", Value: "false"}}}); err != nil {
		t.Fatal(err)
	}

	// Another account cannot delete it: for it the load balancer does not
	// exist, which is success.
	if err := s.DeleteLoadBalancer(ctx, netAcctB, DeleteLoadBalancerInput{LoadBalancerARN: lb.ARN}); err != nil {
		t.Fatalf("DeleteLoadBalancer(account B): %v", err)
	}
	if _, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{LoadBalancerARNs: []string{lb.ARN}}); err != nil {
		t.Fatalf("load balancer gone after another account's delete: %v", err)
	}

	if err := s.DeleteLoadBalancer(ctx, netAcctA, DeleteLoadBalancerInput{LoadBalancerARN: lb.ARN}); err != nil {
		t.Fatal(err)
	}
	_, err = s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{LoadBalancerARNs: []string{lb.ARN}})
	wantNetErr(t, err, "LoadBalancerNotFound", http.StatusBadRequest)
	// Its listeners and node ENIs went with it; the other's stayed.
	_, err = s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{LoadBalancerARN: lb.ARN})
	wantNetErr(t, err, "LoadBalancerNotFound", http.StatusBadRequest)
	ls, err := s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{LoadBalancerARN: keep.ARN})
	if err != nil || len(ls.Listeners) != 1 || ls.Listeners[0].ARN != kept.ARN {
		t.Errorf("DescribeListeners(keep) = %+v, %v; want its one listener", ls.Listeners, err)
	}
	for _, n := range lb.Nodes {
		_, err := s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{NetworkInterfaceIDs: []string{n.ENIID}})
		wantNetErr(t, err, "InvalidNetworkInterfaceID.NotFound", http.StatusBadRequest)
	}
	// The target group is free for another load balancer now.
	if _, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(keep.ARN, 81, tg.ARN)); err != nil {
		t.Errorf("CreateListener to the freed target group: %v", err)
	}
	// Subnet b held only the deleted load balancer's node: it can go.
	if err := s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: e.subnets[1].ID}); err != nil {
		t.Errorf("DeleteSubnet after the load balancer: %v", err)
	}
	// Deleting again succeeds, as AWS documents.
	if err := s.DeleteLoadBalancer(ctx, netAcctA, DeleteLoadBalancerInput{LoadBalancerARN: lb.ARN}); err != nil {
		t.Errorf("second DeleteLoadBalancer: %v", err)
	}
}

func TestLoadBalancerAttributes(t *testing.T) {
	e := newELBEnv(t)
	s, ctx := e.s, t.Context()
	lb := lbtCreate(t, s, lbtInternal("attrs", e.subnets[0].ID))
	got, err := s.DescribeLoadBalancerAttributes(ctx, netAcctA, DescribeLoadBalancerAttributesInput{LoadBalancerARN: lb.ARN})
	if err != nil {
		t.Fatal(err)
	}
	want := []LoadBalancerAttribute{
		{"access_logs.s3.bucket", ""}, {"access_logs.s3.enabled", "false"}, {"access_logs.s3.prefix", ""},
		{"deletion_protection.enabled", "false"}, {"dns_record.client_routing_policy", "any_availability_zone"},
		{"ipv6.deny_all_igw_traffic", "true"}, {"load_balancing.cross_zone.enabled", "false"},
		{"secondary_ips.auto_assigned.per_subnet", "0"}, {"zonal_shift.config.enabled", "false"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DescribeLoadBalancerAttributes() mismatch (-want +got):\n%s", diff)
	}
	got, err = s.ModifyLoadBalancerAttributes(ctx, netAcctA, ModifyLoadBalancerAttributesInput{LoadBalancerARN: lb.ARN, Attributes: []LoadBalancerAttribute{
		{"load_balancing.cross_zone.enabled", "true"}, {"dns_record.client_routing_policy", "any_availability_zone"},
		{"access_logs.s3.enabled", "false"}, {"access_logs.s3.bucket", "logs"}, {"zonal_shift.config.enabled", "true"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want[0].Value, want[6].Value, want[8].Value = "logs", "true", "true"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ModifyLoadBalancerAttributes() mismatch (-want +got):\n%s", diff)
	}
	got, err = s.DescribeLoadBalancerAttributes(ctx, netAcctA, DescribeLoadBalancerAttributesInput{LoadBalancerARN: lb.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DescribeLoadBalancerAttributes() after modify mismatch (-want +got):\n%s", diff)
	}
	modify := func(attrs ...LoadBalancerAttribute) func() error {
		return func() error {
			_, err := s.ModifyLoadBalancerAttributes(ctx, netAcctA, ModifyLoadBalancerAttributesInput{LoadBalancerARN: lb.ARN, Attributes: attrs})
			return err
		}
	}
	runBadCalls(t, e.st, []badCall{
		{"zonal DNS affinity", modify(LoadBalancerAttribute{"dns_record.client_routing_policy", "availability_zone_affinity"}),
			"ValidationError", "privlink does not support the value 'availability_zone_affinity' of attribute 'dns_record.client_routing_policy' yet; only 'any_availability_zone' is supported"},
		{"partial zonal DNS affinity", modify(LoadBalancerAttribute{"dns_record.client_routing_policy", "partial_availability_zone_affinity"}),
			"ValidationError", "privlink does not support the value 'partial_availability_zone_affinity' of attribute 'dns_record.client_routing_policy' yet; only 'any_availability_zone' is supported"},
		{"unknown routing policy", modify(LoadBalancerAttribute{"dns_record.client_routing_policy", "nearest"}),
			"ValidationError", "Load balancer attribute value 'nearest' is not valid for attribute key 'dns_record.client_routing_policy'"},
		{"all or nothing", modify(LoadBalancerAttribute{"deletion_protection.enabled", "true"}, LoadBalancerAttribute{"dns_record.client_routing_policy", "availability_zone_affinity"}),
			"ValidationError", "privlink does not support the value 'availability_zone_affinity' of attribute 'dns_record.client_routing_policy' yet; only 'any_availability_zone' is supported"},
		{"zonal shift not a boolean", modify(LoadBalancerAttribute{"zonal_shift.config.enabled", "yes"}),
			"ValidationError", "Load balancer attribute value 'yes' is not valid for attribute key 'zonal_shift.config.enabled'"},
	})
}

func TestSetSecurityGroups(t *testing.T) {
	e := newELBEnv(t)
	s, ctx := e.s, t.Context()
	lb := lbtCreate(t, s, CreateLoadBalancerInput{Name: "sg", Type: "network", Scheme: "internal", Subnets: []string{e.subnets[0].ID, e.subnets[1].ID}, SecurityGroups: []string{e.sg.ID}})
	g2 := mustGroup(t, s, netAcctA, e.vpc.ID, "second")
	out, err := s.SetSecurityGroups(ctx, netAcctA, SetSecurityGroupsInput{LoadBalancerARN: lb.ARN, SecurityGroups: []string{g2.ID, e.sg.ID}, EnforceSGOnPrivateLink: "off"})
	if err != nil {
		t.Fatal(err)
	}
	want := SetSecurityGroupsOutput{SecurityGroupIDs: []string{g2.ID, e.sg.ID}, EnforceSGOnPrivateLink: "off"}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("SetSecurityGroups() mismatch (-want +got):\n%s", diff)
	}
	for _, eni := range lbtENIs(t, s, netAcctA, lb) {
		if diff := cmp.Diff([]string{g2.ID, e.sg.ID}, eni.Groups); diff != "" {
			t.Errorf("ENI %s groups mismatch (-want +got):\n%s", eni.ID, diff)
		}
	}
	// Without EnforceSecurityGroupInbound... the setting stays.
	out, err = s.SetSecurityGroups(ctx, netAcctA, SetSecurityGroupsInput{LoadBalancerARN: lb.ARN, SecurityGroups: []string{g2.ID}})
	if err != nil || out.EnforceSGOnPrivateLink != "off" {
		t.Errorf("SetSecurityGroups() = %+v, %v; want enforce still off", out, err)
	}
	got, err := s.DescribeLoadBalancers(ctx, netAcctA, DescribeLoadBalancersInput{LoadBalancerARNs: []string{lb.ARN}})
	if err != nil {
		t.Fatal(err)
	}
	if l := got.LoadBalancers[0]; !cmp.Equal(l.SecurityGroups, []string{g2.ID}) || l.EnforceSGOnPrivateLink != "off" {
		t.Errorf("stored groups %v enforce %q", l.SecurityGroups, l.EnforceSGOnPrivateLink)
	}
	// The group the load balancer dropped can be deleted; the one it has
	// cannot.
	if _, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: e.sg.ID}); err != nil {
		t.Errorf("DeleteSecurityGroup(dropped): %v", err)
	}
	_, err = s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: g2.ID})
	wantNetErr(t, err, "DependencyViolation", http.StatusBadRequest)
}

func TestSetSubnetsUnchanged(t *testing.T) {
	e := newELBEnv(t)
	lb := lbtCreate(t, e.s, lbtInternal("subnets", e.subnets[1].ID, e.subnets[0].ID))
	out, err := e.s.SetSubnets(t.Context(), netAcctA, SetSubnetsInput{LoadBalancerARN: lb.ARN, Subnets: []string{e.subnets[0].ID, e.subnets[1].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(SetSubnetsOutput{Nodes: lb.Nodes, IPAddressType: "ipv4"}, out); diff != "" {
		t.Errorf("SetSubnets() mismatch (-want +got):\n%s", diff)
	}
}
