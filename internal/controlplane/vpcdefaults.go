package controlplane

import (
	"fmt"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// The seams between VPCs/subnets and security groups/network ACLs. CreateVpc,
// DeleteVpc, CreateSubnet and DeleteSubnet call these inside their own
// transaction.

// createVpcDefaults stores the VPC's default security group (with AWS's
// default rules) and default network ACL, and records their ids on vpc.
//
// The default group allows all inbound traffic from members of the group
// itself and all outbound traffic to 0.0.0.0/0. The default ACL allows all
// traffic in both directions (rule 100) before the fixed deny-all rule 32767.
func (s *Service) createVpcDefaults(tx store.Tx, vpc *model.Vpc) error {
	g := &model.SecurityGroup{
		ID:          model.NewID(model.PrefixSecurityGroup),
		OwnerID:     vpc.OwnerID,
		VpcID:       vpc.ID,
		Name:        defaultGroupName,
		Description: defaultGroupDescription,
		Egress:      []model.SecurityGroupRule{allTrafficTo("0.0.0.0/0")},
	}
	g.Ingress = []model.SecurityGroupRule{{
		ID:         model.NewID(model.PrefixSecurityGroupRule),
		Protocol:   model.ProtocolAll,
		FromPort:   -1,
		ToPort:     -1,
		GroupID:    g.ID,
		GroupOwner: vpc.OwnerID,
	}}
	acl := &model.NetworkAcl{
		ID:        model.NewID(model.PrefixNetworkAcl),
		OwnerID:   vpc.OwnerID,
		VpcID:     vpc.ID,
		IsDefault: true,
		Entries:   []model.NetworkAclEntry{allowAll(true), denyAll(true), allowAll(false), denyAll(false)},
	}
	if err := putRecord(tx, securityGroupKey(vpc.OwnerID, g.ID), g); err != nil {
		return err
	}
	if err := putRecord(tx, networkAclKey(vpc.OwnerID, acl.ID), acl); err != nil {
		return err
	}
	vpc.DefaultGroupID = g.ID
	vpc.DefaultNetworkAclID = acl.ID
	return nil
}

// checkVpcDeletable returns DependencyViolation if the VPC still has
// security groups or network ACLs other than its defaults.
func (s *Service) checkVpcDeletable(tx store.ReadTx, vpc *model.Vpc) error {
	groups, err := listSecurityGroups(tx, vpc.OwnerID)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if g.VpcID == vpc.ID && g.ID != vpc.DefaultGroupID {
			return errVpcDependencies(vpc.ID)
		}
	}
	acls, err := listNetworkAcls(tx, vpc.OwnerID)
	if err != nil {
		return err
	}
	for _, a := range acls {
		if a.VpcID == vpc.ID && a.ID != vpc.DefaultNetworkAclID {
			return errVpcDependencies(vpc.ID)
		}
	}
	return nil
}

// deleteVpcDefaults removes the VPC's default group and default ACL.
func (s *Service) deleteVpcDefaults(tx store.Tx, vpc *model.Vpc) error {
	if err := tx.Delete(securityGroupKey(vpc.OwnerID, vpc.DefaultGroupID)); err != nil {
		return err
	}
	return tx.Delete(networkAclKey(vpc.OwnerID, vpc.DefaultNetworkAclID))
}

// associateDefaultNetworkAcl associates a new subnet with its VPC's default ACL.
func (s *Service) associateDefaultNetworkAcl(tx store.Tx, vpc *model.Vpc, subnet *model.Subnet) error {
	acl, found, err := getRecord[model.NetworkAcl](tx, networkAclKey(vpc.OwnerID, vpc.DefaultNetworkAclID))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("vpc %s: default network acl %s is missing", vpc.ID, vpc.DefaultNetworkAclID)
	}
	acl.Associations = append(acl.Associations, model.NetworkAclAssociation{
		ID:       model.NewID(model.PrefixNetworkAclAssoc),
		SubnetID: subnet.ID,
	})
	return putRecord(tx, networkAclKey(acl.OwnerID, acl.ID), acl)
}

// removeNetworkAclAssociation drops the ACL association of a deleted subnet.
func (s *Service) removeNetworkAclAssociation(tx store.Tx, subnet *model.Subnet) error {
	acls, err := listNetworkAcls(tx, subnet.OwnerID)
	if err != nil {
		return err
	}
	for _, a := range acls {
		if a.VpcID != subnet.VpcID {
			continue
		}
		as, ok := a.Association(subnet.ID)
		if !ok {
			continue
		}
		a.Associations = removeAssociation(a.Associations, as.ID)
		if err := putRecord(tx, networkAclKey(a.OwnerID, a.ID), a); err != nil {
			return err
		}
	}
	return nil
}
