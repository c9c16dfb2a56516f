package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/nsnet"
	"github.com/privlink/privlink/internal/dataplane/netns"
)

// Addresses. The provider's VPC has the security group measurements'
// server and client in two subnets, and the NLB's node; the consumer's VPC
// has the same CIDR (nothing routes between VPCs), its client and the
// endpoints' network interfaces.
const (
	vpcCIDR      = "10.0.0.0/16"
	subnet1CIDR  = "10.0.1.0/24" // us-east-1a: server, NLB node; the consumer's only subnet
	subnet2CIDR  = "10.0.2.0/24" // us-east-1b: the provider's client
	serverIP     = "10.0.1.10"
	clientIP     = "10.0.2.10"
	nodeIP       = "10.0.1.100"
	consumerIP   = "10.0.1.20"
	endpointBase = 50 // endpoints at 10.0.1.50, .51, … .149, then again
	sgPort       = 8080
	serverPort   = 5001
	nlbPort      = 80
)

// The server's protocol on serverPort: it sends helloByte when it accepts
// a connection, then holds it until EOF; resetByte from the client makes it
// reset the connection (close with SO_LINGER 0).
const (
	helloByte = 'h'
	resetByte = 'R'
)

// env is what setup made.
type env struct {
	d                        *benchd.Daemon
	clientGroup, serverGroup string
	serverID, clientID       string
	client                   netns.Handle // the provider's client: security group probes
	nlb                      *benchd.NLB
	serviceID, service       string // id, name

	cons                    *benchd.Account
	consVPC, consSubnet     string
	consGroup, consClientID string
	consumer                netns.Handle // the consumer's client: held connections

	srv *server

	endpoints int // created so far, for their addresses
}

// setup creates the provider's and the consumer's resources, opens the
// clients' namespaces and starts the server; d.Close undoes all of it.
func setup(ctx context.Context, d *benchd.Daemon) (*env, error) {
	e := &env{d: d}
	vpc, err := d.CreateVpc(ctx, vpcCIDR)
	if err != nil {
		return nil, err
	}
	sub1, err := d.CreateSubnet(ctx, vpc, subnet1CIDR, "us-east-1a")
	if err != nil {
		return nil, err
	}
	sub2, err := d.CreateSubnet(ctx, vpc, subnet2CIDR, "us-east-1b")
	if err != nil {
		return nil, err
	}
	// apply-client first: Close deletes in reverse order, and apply-server
	// may still hold a rule that names apply-client. benchd gives every
	// group one rule; apply-client's (TCP 5001 from the VPC) matters to
	// nothing here, apply-server's lets the NLB's node reach the server.
	if e.clientGroup, err = d.CreateSecurityGroup(ctx, vpc, "apply-client", vpcCIDR, serverPort, serverPort); err != nil {
		return nil, err
	}
	if e.serverGroup, err = d.CreateSecurityGroup(ctx, vpc, "apply-server", vpcCIDR, serverPort, serverPort); err != nil {
		return nil, err
	}
	ids, err := d.RunInstances(ctx, sub1, e.serverGroup, serverIP)
	if err != nil {
		return nil, err
	}
	e.serverID = ids[0]
	if ids, err = d.RunInstances(ctx, sub2, e.clientGroup, clientIP); err != nil {
		return nil, err
	}
	e.clientID = ids[0]

	cons, err := d.CreateAccount(ctx, "apply-bench-consumer")
	if err != nil {
		return nil, err
	}
	e.cons = cons
	if e.consVPC, err = cons.CreateVpc(ctx, vpcCIDR); err != nil {
		return nil, err
	}
	if e.consSubnet, err = cons.CreateSubnet(ctx, e.consVPC, subnet1CIDR, "us-east-1a"); err != nil {
		return nil, err
	}
	if e.consGroup, err = cons.CreateSecurityGroup(ctx, e.consVPC, "apply-endpoint", vpcCIDR, nlbPort, nlbPort); err != nil {
		return nil, err
	}
	if ids, err = cons.RunInstances(ctx, e.consSubnet, e.consGroup, consumerIP); err != nil {
		return nil, err
	}
	e.consClientID = ids[0]

	// The sockets go before the instances: Close runs this step first.
	srv := &server{conns: map[net.Conn]bool{}, resets: make(chan time.Time, 16)}
	e.srv = srv
	var handles []netns.Handle
	d.Defer("close the bench's sockets and namespace handles", func(context.Context) error {
		srv.close()
		for _, h := range handles {
			h.Close()
		}
		return nil
	})
	for _, id := range []string{e.serverID, e.clientID, e.consClientID} {
		h, err := netns.Open(benchd.NamespacePrefix + id)
		if err != nil {
			return nil, err
		}
		handles = append(handles, h)
	}
	e.client, e.consumer = handles[1], handles[2]
	if err := srv.listen(handles[0], sgPort, false); err != nil {
		return nil, err
	}
	if err := srv.listen(handles[0], serverPort, true); err != nil {
		return nil, err
	}

	if e.nlb, err = d.CreateNLB(ctx, benchd.NLBSpec{
		Name: "apply-bench", VpcID: vpc, SubnetID: sub1, NodeIP: nodeIP,
		Port: nlbPort, TargetPort: serverPort, Targets: []string{e.serverID},
	}); err != nil {
		return nil, err
	}
	sc, err := d.CreateEndpointService(ctx, []string{e.nlb.ARN}, false)
	if err != nil {
		return nil, err
	}
	e.serviceID, e.service = aws.ToString(sc.ServiceId), aws.ToString(sc.ServiceName)
	if err := d.AllowPrincipals(ctx, e.serviceID, cons.Principal()); err != nil {
		return nil, err
	}
	log.Printf("provider %s: server %s %s (%s), client %s %s (%s), NLB node %s, service %s; consumer %s (account %s): client %s %s",
		vpc, e.serverID, serverIP, e.serverGroup, e.clientID, clientIP, e.clientGroup, nodeIP, e.serviceID,
		e.consVPC, cons.ID, e.consClientID, consumerIP)
	return e, nil
}

// nextEndpoint is the next endpoint of the service: each has an address of
// its own, until they wrap round after 100, so that no endpoint inherits
// the neighbour entries of the one before.
func (e *env) nextEndpoint() benchd.InterfaceEndpoint {
	ip := netip.AddrFrom4([4]byte{10, 0, 1, byte(endpointBase + e.endpoints%100)})
	e.endpoints++
	return benchd.InterfaceEndpoint{VpcID: e.consVPC, SubnetID: e.consSubnet, GroupID: e.consGroup, ServiceName: e.service, IP: ip}
}

// server is the bench's server: sockets of the server instance's
// namespace. On sgPort it accepts and closes; on serverPort it speaks the
// hold protocol (helloByte, resetByte).
type server struct {
	// resets has the time of each reset that a client asked for, taken
	// just before the close that sends it.
	resets chan time.Time

	mu    sync.Mutex
	lns   []*net.TCPListener
	conns map[net.Conn]bool
}

func (s *server) listen(ns netns.Handle, port int, hold bool) error {
	ln, err := nsnet.Listen(ns, fmt.Sprintf("%s:%d", serverIP, port))
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			if !hold {
				c.Close()
				continue
			}
			go s.hold(c.(*net.TCPConn))
		}
	}()
	return nil
}

func (s *server) hold(c *net.TCPConn) {
	s.mu.Lock()
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	if _, err := c.Write([]byte{helloByte}); err != nil {
		return
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != resetByte {
		return
	}
	c.SetLinger(0)
	at := time.Now()
	c.Close() // a reset
	select {
	case s.resets <- at:
	default:
	}
}

func (s *server) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
}
