package main

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/proc"
	"github.com/privlink/privlink/bench/internal/tcpload"
)

// Addresses. Both VPCs are 10.0.0.0/16 with a subnet 10.0.1.0/24 in
// us-east-1a (the zone of the NLB's only node): nothing routes between
// them, so nothing needs distinct addresses.
const (
	vpcCIDR     = "10.0.0.0/16"
	subnetCIDR  = "10.0.1.0/24"
	zone        = "us-east-1a"
	serverIP    = "10.0.1.10"  // provider
	clientIP    = "10.0.1.20"  // provider and consumer
	nodeIP      = "10.0.1.100" // provider: the NLB's node
	endpointIP  = "10.0.1.50"  // consumer: the traffic test's endpoint ENI
	serverPort  = 5001
	nlbPort     = 80 // the NLB's listener, so the endpoint's port
	haproxyPort = 81 // HAProxy's, on the endpoint ENI's address
)

// provider is the provider's side: the server behind an NLB, published as
// an endpoint service.
type provider struct {
	vpc, subnet        string
	serverID           string
	serverNS, clientNS string // the provider's client: the direct path
	server             *proc.Process
	nlb                *benchd.NLB
	serviceID, service string // id, name
}

// consumerVPC is one consumer VPC with a client instance.
type consumerVPC struct {
	acct               *benchd.Account
	vpc, subnet, group string
	clientID, clientNS string
	endpoints          []endpoint // of the scale test
}

// endpoint is an interface endpoint with its one network interface.
type endpoint struct {
	id, eniID string
	ip        netip.Addr
}

// setupProvider creates the provider's VPC, subnet and group (TCP 80-5001
// from the VPC), the server instance (running `serve`) and the provider's
// client instance, the NLB (node nodeIP, listener nlbPort → serverPort)
// and an endpoint service for it that accepts connections without
// acceptance.
func setupProvider(ctx context.Context, d *benchd.Daemon, exe string, serverCPU, size int, dir string) (*provider, error) {
	p := &provider{}
	var err error
	if p.vpc, err = d.CreateVpc(ctx, vpcCIDR); err != nil {
		return nil, err
	}
	if p.subnet, err = d.CreateSubnet(ctx, p.vpc, subnetCIDR, zone); err != nil {
		return nil, err
	}
	group, err := d.CreateSecurityGroup(ctx, p.vpc, "privatelink-provider", vpcCIDR, nlbPort, serverPort)
	if err != nil {
		return nil, err
	}
	ids, err := d.RunInstances(ctx, p.subnet, group, serverIP, clientIP)
	if err != nil {
		return nil, err
	}
	p.serverID = ids[0]
	p.serverNS, p.clientNS = benchd.NamespacePrefix+ids[0], benchd.NamespacePrefix+ids[1]
	if p.server, err = tcpload.StartServer(ctx, exe, p.serverNS, serverCPU, serverPort, size, dir); err != nil {
		return nil, err
	}
	d.Defer("stop the server", func(context.Context) error { p.server.Stop(); return nil })
	t0 := time.Now()
	if p.nlb, err = d.CreateNLB(ctx, benchd.NLBSpec{
		Name: "privatelink-bench", VpcID: p.vpc, SubnetID: p.subnet, NodeIP: nodeIP,
		Port: nlbPort, TargetPort: serverPort, Targets: []string{p.serverID},
	}); err != nil {
		return nil, err
	}
	sc, err := d.CreateEndpointService(ctx, []string{p.nlb.ARN}, false)
	if err != nil {
		return nil, err
	}
	p.serviceID, p.service = aws.ToString(sc.ServiceId), aws.ToString(sc.ServiceName)
	log.Printf("provider %s: server %s %s, client %s %s, NLB node %s %s (%.1fs), service %s",
		p.vpc, ids[0], serverIP, ids[1], clientIP, p.nlb.NodeENI, nodeIP, time.Since(t0).Seconds(), p.service)
	return p, nil
}

// setupConsumerVPC creates, in account a, a VPC, a subnet, a group that
// allows TCP from..to from the VPC (for the endpoints' interfaces) and a
// client instance at clientAddr; it does not wait for the instance.
func setupConsumerVPC(ctx context.Context, a *benchd.Account, name, clientAddr string, from, to int32) (*consumerVPC, error) {
	c := &consumerVPC{acct: a}
	var err error
	if c.vpc, err = a.CreateVpc(ctx, vpcCIDR); err != nil {
		return nil, err
	}
	if c.subnet, err = a.CreateSubnet(ctx, c.vpc, subnetCIDR, zone); err != nil {
		return nil, err
	}
	if c.group, err = a.CreateSecurityGroup(ctx, c.vpc, name, vpcCIDR, from, to); err != nil {
		return nil, err
	}
	inst, err := a.RunInstance(ctx, benchd.Instance{SubnetID: c.subnet, GroupID: c.group, IP: clientAddr})
	if err != nil {
		return nil, err
	}
	c.clientID = aws.ToString(inst.InstanceId)
	c.clientNS = benchd.NamespacePrefix + c.clientID
	return c, nil
}

// endpointInput is the CreateVpcEndpoint request for an interface endpoint
// of the service in c's subnet at ip, with c's group, without private DNS.
func endpointInput(c *consumerVPC, service string, ip netip.Addr) *ec2.CreateVpcEndpointInput {
	return benchd.InterfaceEndpointInput(benchd.InterfaceEndpoint{VpcID: c.vpc, SubnetID: c.subnet, GroupID: c.group, ServiceName: service, IP: ip})
}

// created turns a created endpoint into its id and its network interface.
func created(e ec2types.VpcEndpoint, ip netip.Addr) (endpoint, error) {
	if len(e.NetworkInterfaceIds) != 1 {
		return endpoint{}, fmt.Errorf("endpoint %s has %d network interfaces, want 1", aws.ToString(e.VpcEndpointId), len(e.NetworkInterfaceIds))
	}
	return endpoint{id: aws.ToString(e.VpcEndpointId), eniID: e.NetworkInterfaceIds[0], ip: ip}, nil
}
