package controller_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/privlink/privlink/internal/controller"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/dataplane"
	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/testenv"
	"github.com/privlink/privlink/internal/vpcdns"
)

// TestPrivilegedInstances runs the controller with the Linux data plane and
// the real VPC resolver against a real store: two instances launched through
// the control plane become running namespaces; one reaches the other by TCP
// (the default group admits its own members) and resolves its private DNS
// name at VPC+2; terminating them removes their namespaces.
func TestPrivilegedInstances(t *testing.T) {
	testenv.RequirePrivileged(t)
	prefix := testenv.Prefix(t)
	ctx := t.Context()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))

	cp, st := newStoreAndControlPlane(t, logger, "a")
	if _, err := cp.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	resolver := vpcdns.New(logger)
	ctrl, err := controller.New(controller.Config{
		State: cp, Changes: st, DataPlane: dataplane.NewLinux(logger), Resolver: resolver, Purger: cp,
		Prefix: prefix, Owner: "0123456789abcdef", Region: "us-east-1", Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- ctrl.Run(runCtx) }()
	go func() { done <- resolver.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run() = %v", err)
			}
		}
		// What the test leaves behind: the VPC's router.
		names, _ := testenv.ListNamespaces(prefix)
		for _, n := range names {
			netns.Delete(n)
		}
	})

	const account = controlplane.BootstrapAccountID
	vpc, err := cp.CreateVpc(ctx, account, controlplane.CreateVpcInput{CidrBlock: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := cp.CreateSubnet(ctx, account, controlplane.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.1.0/24", AvailabilityZone: "us-east-1a"})
	if err != nil {
		t.Fatal(err)
	}
	two := int32(2)
	res, err := cp.RunInstances(ctx, account, controlplane.RunInstancesInput{ImageID: "ami-12345678", MinCount: &two, MaxCount: &two, SubnetID: sn.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Instances) != 2 {
		t.Fatalf("RunInstances() gave %d instances, want 2", len(res.Instances))
	}
	a, b := res.Instances[0].Instance, res.Instances[1].Instance
	testenv.WaitFor(t, 10*time.Second, "both instances to be running", func() error {
		snap, err := cp.Snapshot(ctx)
		if err != nil {
			return err
		}
		for _, i := range snap.Instances {
			if i.State != model.InstanceRunning {
				return fmt.Errorf("instance %s is %s", i.ID, i.State)
			}
		}
		return nil
	})

	// TCP from a to b: the default group admits its members.
	var ln net.Listener
	if err := netns.DoNamed(prefix+b.ID, func() error {
		var err error
		ln, err = net.Listen("tcp", net.JoinHostPort(b.PrivateIP, "8080"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	testenv.WaitFor(t, 5*time.Second, "a TCP connection from a to b", func() error {
		return netns.DoNamed(prefix+a.ID, func() error {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(b.PrivateIP, "8080"), 500*time.Millisecond)
			if err != nil {
				return err
			}
			return c.Close()
		})
	})

	// a resolves b's name at VPC+2.
	name := model.PrivateDNSName("us-east-1", b.PrivateIP) + "."
	testenv.WaitFor(t, 5*time.Second, "a to resolve "+name, func() error {
		var reply *dns.Msg
		err := netns.DoNamed(prefix+a.ID, func() error {
			c := &dns.Client{Timeout: 500 * time.Millisecond}
			var err error
			reply, _, err = c.Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), "10.0.0.2:53")
			return err
		})
		if err != nil {
			return err
		}
		if len(reply.Answer) != 1 {
			return fmt.Errorf("answer %v", reply.Answer)
		}
		rr, ok := reply.Answer[0].(*dns.A)
		if !ok || rr.A.String() != b.PrivateIP {
			return fmt.Errorf("answer %v, want %s", reply.Answer, b.PrivateIP)
		}
		return nil
	})

	if _, err := cp.TerminateInstances(ctx, account, controlplane.TerminateInstancesInput{InstanceIDs: []string{a.ID, b.ID}}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the instances to be terminated and their namespaces gone", func() error {
		snap, err := cp.Snapshot(ctx)
		if err != nil {
			return err
		}
		for _, i := range snap.Instances {
			if i.State != model.InstanceTerminated {
				return fmt.Errorf("instance %s is %s", i.ID, i.State)
			}
		}
		names, err := testenv.ListNamespaces(prefix)
		if err != nil {
			return err
		}
		if want := []string{prefix + vpc.ID}; !slices.Equal(names, want) {
			return fmt.Errorf("namespaces %q, want %q", names, want)
		}
		return nil
	})
}
