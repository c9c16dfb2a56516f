package controlplane

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// mustManagedENI creates a requester-managed ENI (an endpoint's) in subnetID
// the way the endpoint code will: createENI inside its own transaction.
func mustManagedENI(t *testing.T, s *Service, st store.Store, account, subnetID string, ip string, groups ...string) *model.NetworkInterface {
	t.Helper()
	var eni *model.NetworkInterface
	_, err := st.Update(t.Context(), func(tx store.Tx) error {
		sn, err := loadSubnet(tx, account, subnetID)
		if err != nil {
			return err
		}
		p := eniParams{
			Subnet: sn, Groups: groups, InterfaceType: model.InterfaceTypeVpcEndpoint,
			Description: "VPC Endpoint Interface vpce-0123456789abcdef0", RequesterManaged: true,
			RequesterID: "727180483921", InstanceOwnerID: "amazon-aws", DeviceIndex: 1,
		}
		if ip != "" {
			p.PrivateIP = netip.MustParseAddr(ip)
		}
		eni, err = s.createENI(tx, p)
		return err
	})
	if err != nil {
		t.Fatalf("createENI: %v", err)
	}
	return eni
}

func TestRequesterManagedENI(t *testing.T) {
	s, st, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/28")
	inst := mustRun(t, s, netAcctA, runIn(sn.ID)).Instances[0]
	eni := mustManagedENI(t, s, st, netAcctA, sn.ID, "", vpc.DefaultGroupID)
	if !model.ValidID("ela-attach", eni.AttachmentID) || eni.Status != "in-use" || eni.InstanceID != "" {
		t.Errorf("managed ENI attachment %q status %q instance %q", eni.AttachmentID, eni.Status, eni.InstanceID)
	}
	// It shares the allocator with RunInstances: the next free address.
	if eni.PrivateIP != "10.0.1.5" || inst.PrivateIP != "10.0.1.4" {
		t.Errorf("addresses: instance %s, ENI %s", inst.PrivateIP, eni.PrivateIP)
	}
	_, err := s.RunInstances(ctx, netAcctA, runIn(sn.ID, withIP("10.0.1.5")))
	wantNetErr(t, err, "InvalidIPAddress.InUse", 400)
	if got := availableIPs(t, s, netAcctA, sn.ID); got != 9 {
		t.Errorf("AvailableIpAddressCount = %d, want 9", got)
	}
	// An ENI may ask for an address, with the same checks.
	fixed := mustManagedENI(t, s, st, netAcctA, sn.ID, "10.0.1.14")
	if fixed.PrivateIP != "10.0.1.14" || len(fixed.Groups) != 0 {
		t.Errorf("fixed ENI = %+v", fixed)
	}
	_, err = st.Update(ctx, func(tx store.Tx) error {
		sn, err := loadSubnet(tx, netAcctA, sn.ID)
		if err != nil {
			return err
		}
		_, err = s.createENI(tx, eniParams{Subnet: sn, PrivateIP: netip.MustParseAddr("10.0.1.3")})
		return err
	})
	wantNetErr(t, err, "InvalidParameterValue", 400)

	// A full subnet: the ENI error, not RunInstances'.
	mustRun(t, s, netAcctA, runIn(sn.ID, withCount(1, 20)))
	_, err = st.Update(ctx, func(tx store.Tx) error {
		sn, err := loadSubnet(tx, netAcctA, sn.ID)
		if err != nil {
			return err
		}
		_, err = s.createENI(tx, eniParams{Subnet: sn})
		return err
	})
	wantNetErr(t, err, "InsufficientFreeAddressesInSubnet", 400)
	wantMessage(t, err, "The specified subnet does not have enough free addresses to satisfy the request.")

	// deleteENI frees the address at once.
	if _, err := st.Update(ctx, func(tx store.Tx) error { return s.deleteENI(tx, eni) }); err != nil {
		t.Fatal(err)
	}
	if got := availableIPs(t, s, netAcctA, sn.ID); got != 1 {
		t.Errorf("AvailableIpAddressCount after deleteENI = %d, want 1", got)
	}
	if ip := mustRun(t, s, netAcctA, runIn(sn.ID)).Instances[0].PrivateIP; ip != "10.0.1.5" {
		t.Errorf("address after deleteENI = %s, want 10.0.1.5", ip)
	}
}

func TestDescribeNetworkInterfacesFilters(t *testing.T) {
	s, st, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sa := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24") // us-east-1a
	sb := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.2.0/24") // us-east-1b
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	i1 := mustRun(t, s, netAcctA, runIn(sa.ID, withGroups(web.ID), func(in *RunInstancesInput) {
		in.TagSpecs = []TagSpec{{ResourceType: "network-interface", Tags: []model.Tag{{Key: "Name", Value: "front"}}}}
	})).Instances[0]
	i2 := mustRun(t, s, netAcctA, runIn(sb.ID)).Instances[0]
	ep := mustManagedENI(t, s, st, netAcctA, sb.ID, "10.0.2.100", web.ID)
	if err := s.ModifyNetworkInterfaceAttribute(ctx, netAcctA, ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: i2.PrimaryENI, SourceDestCheck: new(false)}); err != nil {
		t.Fatal(err)
	}
	if err := s.ModifyNetworkInterfaceAttribute(ctx, netAcctA, ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: i2.PrimaryENI, Description: new("database")}); err != nil {
		t.Fatal(err)
	}
	e1, e2, e3 := i1.PrimaryENI, i2.PrimaryENI, ep.ID
	ids := func(v ...string) []string { return sorted(v) }
	f := func(name string, values ...string) []Filter { return []Filter{{Name: name, Values: values}} }
	tests := []struct {
		name string
		in   DescribeNetworkInterfacesInput
		want []string
	}{
		{"all", DescribeNetworkInterfacesInput{}, ids(e1, e2, e3)},
		{"by id", DescribeNetworkInterfacesInput{NetworkInterfaceIDs: []string{e3, e1, e3}}, ids(e1, e3)},
		{"interface-type", DescribeNetworkInterfacesInput{Filters: f("interface-type", "vpc_endpoint")}, ids(e3)},
		{"requester-managed", DescribeNetworkInterfacesInput{Filters: f("requester-managed", "false")}, ids(e1, e2)},
		{"requester-id", DescribeNetworkInterfacesInput{Filters: f("requester-id", "727180483921")}, ids(e3)},
		{"vpc-id", DescribeNetworkInterfacesInput{Filters: f("vpc-id", vpc.ID)}, ids(e1, e2, e3)},
		{"subnet-id", DescribeNetworkInterfacesInput{Filters: f("subnet-id", sb.ID)}, ids(e2, e3)},
		{"availability-zone", DescribeNetworkInterfacesInput{Filters: f("availability-zone", "us-east-1a")}, ids(e1)},
		{"availability-zone-id", DescribeNetworkInterfacesInput{Filters: f("availability-zone-id", "use1-az2")}, ids(e2, e3)},
		{"group-id", DescribeNetworkInterfacesInput{Filters: f("group-id", web.ID)}, ids(e1, e3)},
		{"group-name", DescribeNetworkInterfacesInput{Filters: f("group-name", "default")}, ids(e2)},
		{"description", DescribeNetworkInterfacesInput{Filters: f("description", "VPC Endpoint Interface *")}, ids(e3)},
		{"description set", DescribeNetworkInterfacesInput{Filters: f("description", "database")}, ids(e2)},
		{"private-ip-address", DescribeNetworkInterfacesInput{Filters: f("private-ip-address", "10.0.2.100")}, ids(e3)},
		{"addresses.private-ip-address", DescribeNetworkInterfacesInput{Filters: f("addresses.private-ip-address", "10.0.1.4")}, ids(e1)},
		{"private-dns-name", DescribeNetworkInterfacesInput{Filters: f("private-dns-name", "ip-10-0-2-4.ec2.internal")}, ids(e2)},
		{"attachment.instance-id", DescribeNetworkInterfacesInput{Filters: f("attachment.instance-id", i1.ID)}, ids(e1)},
		{"attachment.instance-owner-id", DescribeNetworkInterfacesInput{Filters: f("attachment.instance-owner-id", "amazon-aws")}, ids(e3)},
		{"attachment.status", DescribeNetworkInterfacesInput{Filters: f("attachment.status", "attached")}, ids(e1, e2, e3)},
		{"attachment.device-index", DescribeNetworkInterfacesInput{Filters: f("attachment.device-index", "1")}, ids(e3)},
		{"attachment.delete-on-termination", DescribeNetworkInterfacesInput{Filters: f("attachment.delete-on-termination", "true")}, ids(e1, e2)},
		{"mac-address", DescribeNetworkInterfacesInput{Filters: f("mac-address", ep.MacAddress)}, ids(e3)},
		{"network-interface-id", DescribeNetworkInterfacesInput{Filters: f("network-interface-id", e2)}, ids(e2)},
		{"owner-id", DescribeNetworkInterfacesInput{Filters: f("owner-id", netAcctB)}, nil},
		{"status", DescribeNetworkInterfacesInput{Filters: f("status", "in-use")}, ids(e1, e2, e3)},
		{"source-dest-check", DescribeNetworkInterfacesInput{Filters: f("source-dest-check", "false")}, ids(e2)},
		{"tag:Name", DescribeNetworkInterfacesInput{Filters: f("tag:Name", "front")}, ids(e1)},
		{"tag-key", DescribeNetworkInterfacesInput{Filters: f("tag-key", "Name")}, ids(e1)},
		{"association.public-ip (none)", DescribeNetworkInterfacesInput{Filters: f("association.public-ip", "*")}, nil},
		{"operator.managed", DescribeNetworkInterfacesInput{Filters: f("operator.managed", "false")}, ids(e1, e2, e3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.DescribeNetworkInterfaces(ctx, netAcctA, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range out.NetworkInterfaces {
				got = append(got, e.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DescribeNetworkInterfaces() mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// Paging: 3 + 9 ENIs in pages of 5.
	mustRun(t, s, netAcctA, runIn(sa.ID, withCount(9, 9)))
	var sizes []int
	seen := map[string]bool{}
	token := ""
	for range 10 {
		out, err := s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{Page: Page{MaxResults: 5, NextToken: token}})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(out.NetworkInterfaces))
		for _, e := range out.NetworkInterfaces {
			if seen[e.ID] {
				t.Errorf("%s on two pages", e.ID)
			}
			seen[e.ID] = true
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff([]int{5, 5, 2}, sizes); diff != "" {
		t.Errorf("page sizes mismatch (-want +got):\n%s", diff)
	}
}

func TestModifyNetworkInterfaceAttribute(t *testing.T) {
	s, st, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	db := mustGroup(t, s, netAcctA, vpc.ID, "db")
	inst := mustRun(t, s, netAcctA, runIn(sn.ID)).Instances[0]
	modify := func(in ModifyNetworkInterfaceAttributeInput) {
		t.Helper()
		in.NetworkInterfaceID = inst.PrimaryENI
		if err := s.ModifyNetworkInterfaceAttribute(ctx, netAcctA, in); err != nil {
			t.Fatalf("ModifyNetworkInterfaceAttribute(%+v): %v", in, err)
		}
	}
	// Groups are replaced as a set, duplicates dropped, order kept; the
	// instance reports its ENI's groups.
	modify(ModifyNetworkInterfaceAttributeInput{Groups: []string{db.ID, web.ID, db.ID}})
	got := describeOne(t, s, netAcctA, inst.ID)
	want := []GroupIdentifier{{GroupID: db.ID, GroupName: "db"}, {GroupID: web.ID, GroupName: "web"}}
	if diff := cmp.Diff(want, got.Groups); diff != "" {
		t.Errorf("instance groups mismatch (-want +got):\n%s", diff)
	}
	// web cannot be deleted while the ENI carries it, and can once it no
	// longer does.
	_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: web.ID})
	wantNetErr(t, err, "DependencyViolation", 400)
	modify(ModifyNetworkInterfaceAttributeInput{Groups: []string{db.ID}})
	if _, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: web.ID}); err != nil {
		t.Errorf("DeleteSecurityGroup of a group no ENI carries: %v", err)
	}

	modify(ModifyNetworkInterfaceAttributeInput{SourceDestCheck: new(false)})
	modify(ModifyNetworkInterfaceAttributeInput{Description: new("primary")})
	out, err := s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{NetworkInterfaceIDs: []string{inst.PrimaryENI}})
	if err != nil {
		t.Fatal(err)
	}
	e := out.NetworkInterfaces[0]
	if e.SourceDestCheck || e.Description != "primary" || !cmp.Equal([]string{db.ID}, e.Groups) {
		t.Errorf("ENI after modify = %+v", e.NetworkInterface)
	}
	if describeOne(t, s, netAcctA, inst.ID).SourceDestCheck {
		t.Error("instance sourceDestCheck still true")
	}
	// Setting what is already set writes nothing.
	before := netRev(t, st)
	modify(ModifyNetworkInterfaceAttributeInput{SourceDestCheck: new(false)})
	modify(ModifyNetworkInterfaceAttributeInput{Description: new("primary")})
	modify(ModifyNetworkInterfaceAttributeInput{Groups: []string{db.ID}})
	if netRev(t, st) != before {
		t.Error("a no-op modify wrote")
	}
}
