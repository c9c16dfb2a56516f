package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/awsclient"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/nsexec"
	"github.com/privlink/privlink/internal/txtserver"
)

// The scenario's fixed choices.
const (
	vpcCIDR     = "10.0.0.0/16" // both VPCs: the same CIDR on purpose
	subnetACIDR = "10.0.1.0/24"
	subnetBCIDR = "10.0.2.0/24"
	webIP       = "10.0.1.10" // the provider's web server
	imageID     = "ami-12345678"
	instType    = "t3.micro"
	// privateDNSName is the service's private DNS name, proved with a TXT
	// record and answered in the consumer's VPC once verified.
	privateDNSName = "web.provider.privlink.test"
)

// Waits. Health checks every 5 s, two in a row, make a target healthy in
// about 10 s; the rest takes a few seconds at most.
const (
	waitInstance = 60 * time.Second
	waitLB       = 90 * time.Second
	waitTarget   = 90 * time.Second
	waitEndpoint = 90 * time.Second
	waitVerified = 30 * time.Second
	waitCurl     = 30 * time.Second
	pollInterval = 500 * time.Millisecond
)

// account is one of the demo's two accounts and its API client.
type account struct {
	name  string // provider or consumer; also the profile of the printed commands
	id    string
	creds awsclient.Credentials
	api   *awsclient.Client
}

// ec2 calls an EC2 action with params given as name, value pairs.
func (a *account) ec2(ctx context.Context, action string, kv ...string) (*awsclient.Node, error) {
	return a.api.EC2(ctx, action, values(kv))
}

// elb calls an ELBv2 action with params given as name, value pairs and
// returns its Result element.
func (a *account) elb(ctx context.Context, action string, kv ...string) (*awsclient.Node, error) {
	return a.api.ELBv2(ctx, action, values(kv))
}

func values(kv []string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// nameTag is a TagSpecification naming a new resource of type rt.
func nameTag(rt, name string) []string {
	return []string{
		"TagSpecification.1.ResourceType", rt,
		"TagSpecification.1.Tag.1.Key", "Name",
		"TagSpecification.1.Tag.1.Value", name,
	}
}

// cliTag is the same as nameTag, as the AWS CLI's shorthand.
func cliTag(rt, name string) []string {
	return []string{"--tag-specifications", "ResourceType=" + rt + ",Tags=[{Key=Name,Value=" + name + "}]"}
}

// resources are the ids of what the demo created, for the later steps and
// the cleanup. An empty id was not created.
type resources struct {
	provVPC     string
	provSubnets []string
	provSG      string
	web         string // the provider's web server instance
	tgARN       string
	lbARN       string
	listenerARN string
	serviceID   string
	serviceName string
	privateDNS  *privateDNSChallenge // nil without a private DNS name

	consVPC     string
	consSubnets []string
	consSG      string
	client      string // the consumer's client instance
	endpointID  string
	endpointDNS string // the endpoint's regional DNS name

	// enis are the requester-managed interfaces seen (load balancer nodes,
	// endpoint interfaces), whose namespaces must be gone at the end.
	enis []string
}

// privateDNSChallenge is the TXT record that proves the service's private
// DNS name.
type privateDNSChallenge struct {
	name, value, state string
}

// scenario is one run of the demo.
type scenario struct {
	out    *printer
	log    *slog.Logger
	t      *target
	tools  tools
	webDir string
	txt    *txtserver.Server // nil: the private DNS name cannot be verified
	prov   *account
	cons   *account
	res    resources
}

func (s *scenario) zone(letter string) string { return s.t.region + letter }

// run plays steps 1 to 6.
func (s *scenario) run(ctx context.Context) error {
	fmt.Fprintf(s.out.w, "\nEvery step below is shown as the AWS CLI command that does the same (with\n"+
		"AWS_DEFAULT_REGION=%s), followed by the key part of its result.\n", s.t.region)
	for _, step := range []func(context.Context) error{
		s.accounts, s.provider, s.service, s.consumer, s.accept, s.traffic,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// accounts is step 1.
func (s *scenario) accounts(ctx context.Context) error {
	s.out.section("1. Two accounts: a provider and a consumer")
	ac := s.t.adminClient()
	for _, name := range []string{"provider", "consumer"} {
		s.out.cmd(append([]string{"privlink", "accounts", "create", "--name", name}, s.t.dataDirArgs()...)...)
		created, err := ac.CreateAccount(ctx, name)
		if err != nil {
			return fmt.Errorf("create the %s account: %w", name, err)
		}
		a := &account{name: name, id: created.AccountID,
			creds: awsclient.Credentials{AccessKeyID: created.AccessKeyID, SecretAccessKey: created.SecretAccessKey}}
		if a.api, err = awsclient.New(s.t.endpoint, s.t.region, a.creds); err != nil {
			return err
		}
		s.out.result("AccountId", a.id, "AccessKeyId", a.creds.AccessKeyID)
		if name == "provider" {
			s.prov = a
		} else {
			s.cons = a
		}
	}
	s.out.say("The commands below use these accounts as the profiles provider and consumer. To run them\n" +
		"yourself, add this to ~/.aws/credentials:\n\n" + s.credentialsSnippet())
	return nil
}

func (s *scenario) credentialsSnippet() string {
	var b strings.Builder
	for _, a := range []*account{s.prov, s.cons} {
		fmt.Fprintf(&b, "  [%s]\n  aws_access_key_id = %s\n  aws_secret_access_key = %s\n", a.name, a.creds.AccessKeyID, a.creds.SecretAccessKey)
	}
	return strings.TrimRight(b.String(), "\n")
}

// provider is step 2: a web server behind an internal NLB.
func (s *scenario) provider(ctx context.Context) error {
	s.out.section("2. Provider: a web server behind an internal Network Load Balancer")
	p := s.prov
	var err error
	if s.res.provVPC, err = s.createVPC(ctx, p, "privlink-demo-provider"); err != nil {
		return err
	}
	if s.res.provSubnets, err = s.createSubnets(ctx, p, s.res.provVPC, "provider"); err != nil {
		return err
	}
	if s.res.provSG, err = s.createGroup(ctx, p, s.res.provVPC, "demo-web", "privlink demo web server"); err != nil {
		return err
	}

	script := filepath.Join(s.webDir, "web.sh")
	userData := fmt.Sprintf("#!/bin/sh\n# privlink demo: the provider's web server, on port 80 of its instance\ncd %s && exec %s -m http.server 80 --bind 0.0.0.0\n",
		shellQuote(s.webDir), shellQuote(s.tools.python))
	if err := os.WriteFile(script, []byte(userData), 0o644); err != nil {
		return fmt.Errorf("write the web server's script: %w", err)
	}
	s.out.aws(p.name, append([]string{"ec2", "run-instances", "--image-id", imageID, "--instance-type", instType,
		"--subnet-id", s.res.provSubnets[0], "--security-group-ids", s.res.provSG, "--private-ip-address", webIP,
		"--user-data", "file://" + script}, cliTag("instance", "provider-web")...)...)
	web, err := s.runInstance(ctx, p, s.res.provSubnets[0], webIP, s.res.provSG, userData, "provider-web")
	if err != nil {
		return err
	}
	s.res.web = web
	page := fmt.Sprintf("Hello from the provider! This is instance %s (%s) in VPC %s of account %s.\n", web, webIP, s.res.provVPC, p.id)
	if err := os.WriteFile(filepath.Join(s.webDir, "index.html"), []byte(page), 0o644); err != nil {
		return fmt.Errorf("write the web page: %w", err)
	}
	s.out.result("InstanceId", web, "PrivateIpAddress", webIP, "UserData", "python3 -m http.server 80 in "+s.webDir)

	s.out.aws(p.name, "elbv2", "create-target-group", "--name", "demo-web", "--protocol", "TCP", "--port", "80",
		"--vpc-id", s.res.provVPC, "--target-type", "instance", "--health-check-interval-seconds", "5",
		"--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2")
	res, err := p.elb(ctx, "CreateTargetGroup", "Name", "demo-web", "Protocol", "TCP", "Port", "80",
		"VpcId", s.res.provVPC, "TargetType", "instance", "HealthCheckIntervalSeconds", "5",
		"HealthyThresholdCount", "2", "UnhealthyThresholdCount", "2")
	if err != nil {
		return fmt.Errorf("create the target group: %w", err)
	}
	s.res.tgARN = res.Value("TargetGroups", "member", "TargetGroupArn")
	s.out.result("TargetGroupArn", s.res.tgARN)

	s.out.aws(p.name, "elbv2", "create-load-balancer", "--name", "demo-web", "--type", "network", "--scheme", "internal",
		"--subnets", s.res.provSubnets[0], s.res.provSubnets[1])
	res, err = p.elb(ctx, "CreateLoadBalancer", "Name", "demo-web", "Type", "network", "Scheme", "internal",
		"Subnets.member.1", s.res.provSubnets[0], "Subnets.member.2", s.res.provSubnets[1])
	if err != nil {
		return fmt.Errorf("create the load balancer: %w", err)
	}
	lb := res.Get("LoadBalancers", "member")
	s.res.lbARN = lb.Value("LoadBalancerArn")
	s.out.result("LoadBalancerArn", s.res.lbARN, "State", lb.Value("State", "Code"))
	s.out.result("DNSName", lb.Value("DNSName"))

	s.out.aws(p.name, "elbv2", "create-listener", "--load-balancer-arn", s.res.lbARN, "--protocol", "TCP", "--port", "80",
		"--default-actions", "Type=forward,TargetGroupArn="+s.res.tgARN)
	res, err = p.elb(ctx, "CreateListener", "LoadBalancerArn", s.res.lbARN, "Protocol", "TCP", "Port", "80",
		"DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", s.res.tgARN)
	if err != nil {
		return fmt.Errorf("create the listener: %w", err)
	}
	s.res.listenerARN = res.Value("Listeners", "member", "ListenerArn")
	s.out.result("ListenerArn", s.res.listenerARN)

	// Only a running instance can be registered.
	if err := s.waitRunning(ctx, p, web); err != nil {
		return err
	}
	s.out.aws(p.name, "elbv2", "register-targets", "--target-group-arn", s.res.tgARN, "--targets", "Id="+web)
	if _, err := p.elb(ctx, "RegisterTargets", "TargetGroupArn", s.res.tgARN, "Targets.member.1.Id", web); err != nil {
		return fmt.Errorf("register the web server: %w", err)
	}

	s.out.aws(p.name, "elbv2", "wait", "load-balancer-available", "--load-balancer-arns", s.res.lbARN)
	err = poll(ctx, waitLB, "the load balancer to be active", func(ctx context.Context) (string, bool, error) {
		res, err := p.elb(ctx, "DescribeLoadBalancers", "LoadBalancerArns.member.1", s.res.lbARN)
		if err != nil {
			return "", false, err
		}
		state := res.Value("LoadBalancers", "member", "State", "Code")
		if state == "failed" {
			return state, false, errors.New("the load balancer failed")
		}
		return state, state == "active", nil
	})
	if err != nil {
		return err
	}
	nodes, err := s.interfaces(ctx, p, s.res.provVPC, "network_load_balancer")
	if err != nil {
		return err
	}
	s.out.result("State", "active", "Nodes", strings.Join(nodes, ", "))

	s.out.aws(p.name, "elbv2", "wait", "target-in-service", "--target-group-arn", s.res.tgARN, "--targets", "Id="+web)
	err = poll(ctx, waitTarget, "the web server to be a healthy target", func(ctx context.Context) (string, bool, error) {
		res, err := p.elb(ctx, "DescribeTargetHealth", "TargetGroupArn", s.res.tgARN)
		if err != nil {
			return "", false, err
		}
		state := res.Value("TargetHealthDescriptions", "member", "TargetHealth", "State")
		return state, state == "healthy", nil
	})
	if err != nil {
		return err
	}
	s.out.result("Target", web, "State", "healthy")
	return nil
}

// service is step 3: the endpoint service and who may use it.
func (s *scenario) service(ctx context.Context) error {
	s.out.section("3. Provider: publish the load balancer as an endpoint service")
	p := s.prov
	args := []string{"ec2", "create-vpc-endpoint-service-configuration", "--network-load-balancer-arns", s.res.lbARN, "--acceptance-required"}
	params := []string{"NetworkLoadBalancerArn.1", s.res.lbARN, "AcceptanceRequired", "true"}
	if s.txt != nil {
		args = append(args, "--private-dns-name", privateDNSName)
		params = append(params, "PrivateDnsName", privateDNSName)
	}
	s.out.aws(p.name, args...)
	res, err := p.ec2(ctx, "CreateVpcEndpointServiceConfiguration", params...)
	if err != nil {
		return fmt.Errorf("create the endpoint service: %w", err)
	}
	sc := res.Get("serviceConfiguration")
	s.res.serviceID, s.res.serviceName = sc.Value("serviceId"), sc.Value("serviceName")
	s.out.result("ServiceId", s.res.serviceID, "ServiceState", sc.Value("serviceState"), "AcceptanceRequired", sc.Value("acceptanceRequired"))
	s.out.result("ServiceName", s.res.serviceName)
	if s.txt != nil {
		pc := sc.Get("privateDnsNameConfiguration")
		s.res.privateDNS = &privateDNSChallenge{name: pc.Value("name"), value: pc.Value("value"), state: pc.Value("state")}
		if s.res.privateDNS.name == "" || s.res.privateDNS.value == "" {
			return fmt.Errorf("the endpoint service %s has no private DNS name challenge", s.res.serviceID)
		}
		s.out.result("PrivateDnsName", privateDNSName, "Verification", s.res.privateDNS.state,
			"TXT", s.res.privateDNS.name+" = "+s.res.privateDNS.value)
	}

	principal := "arn:aws:iam::" + s.cons.id + ":root"
	s.out.aws(p.name, "ec2", "modify-vpc-endpoint-service-permissions", "--service-id", s.res.serviceID,
		"--add-allowed-principals", principal)
	if _, err := p.ec2(ctx, "ModifyVpcEndpointServicePermissions", "ServiceId", s.res.serviceID, "AddAllowedPrincipals.1", principal); err != nil {
		return fmt.Errorf("allow the consumer: %w", err)
	}
	s.out.result("AllowedPrincipal", principal)
	return nil
}

// consumer is step 4: the consumer's VPC, a client and the endpoint.
func (s *scenario) consumer(ctx context.Context) error {
	s.out.section("4. Consumer: a VPC with the same CIDR, a client and an interface endpoint")
	s.out.say("The consumer's VPC is %s too: nothing routes between VPCs, so nothing needs unique addresses.", vpcCIDR)
	c := s.cons
	var err error
	if s.res.consVPC, err = s.createVPC(ctx, c, "privlink-demo-consumer"); err != nil {
		return err
	}
	for _, attr := range []struct{ param, flag string }{
		{"EnableDnsSupport", "--enable-dns-support"},
		{"EnableDnsHostnames", "--enable-dns-hostnames"},
	} {
		s.out.aws(c.name, "ec2", "modify-vpc-attribute", "--vpc-id", s.res.consVPC, attr.flag, `{"Value":true}`)
		if _, err := c.ec2(ctx, "ModifyVpcAttribute", "VpcId", s.res.consVPC, attr.param+".Value", "true"); err != nil {
			return fmt.Errorf("turn on %s of the consumer's VPC: %w", attr.param, err)
		}
	}
	if s.res.consSubnets, err = s.createSubnets(ctx, c, s.res.consVPC, "consumer"); err != nil {
		return err
	}
	if s.res.consSG, err = s.createGroup(ctx, c, s.res.consVPC, "demo-endpoint", "privlink demo interface endpoint"); err != nil {
		return err
	}
	s.out.aws(c.name, append([]string{"ec2", "run-instances", "--image-id", imageID, "--instance-type", instType,
		"--subnet-id", s.res.consSubnets[0]}, cliTag("instance", "consumer-client")...)...)
	if s.res.client, err = s.runInstance(ctx, c, s.res.consSubnets[0], "", "", "", "consumer-client"); err != nil {
		return err
	}

	s.out.aws(c.name, "ec2", "create-vpc-endpoint", "--vpc-id", s.res.consVPC, "--vpc-endpoint-type", "Interface",
		"--service-name", s.res.serviceName, "--subnet-ids", s.res.consSubnets[0], s.res.consSubnets[1],
		"--security-group-ids", s.res.consSG, "--no-private-dns-enabled")
	res, err := c.ec2(ctx, "CreateVpcEndpoint", "VpcId", s.res.consVPC, "VpcEndpointType", "Interface",
		"ServiceName", s.res.serviceName, "SubnetId.1", s.res.consSubnets[0], "SubnetId.2", s.res.consSubnets[1],
		"SecurityGroupId.1", s.res.consSG, "PrivateDnsEnabled", "false")
	if err != nil {
		return fmt.Errorf("create the interface endpoint: %w", err)
	}
	ep := res.Get("vpcEndpoint")
	s.res.endpointID = ep.Value("vpcEndpointId")
	s.res.endpointDNS = ep.Value("dnsEntrySet", "item", "dnsName")
	if s.res.endpointDNS == "" {
		if ep, err = s.describeEndpoint(ctx); err != nil {
			return err
		}
		s.res.endpointDNS = ep.Value("dnsEntrySet", "item", "dnsName")
	}
	s.out.result("VpcEndpointId", s.res.endpointID, "State", ep.Value("state"))
	s.out.result("DnsName", s.res.endpointDNS)
	if s.res.endpointDNS == "" {
		return fmt.Errorf("the endpoint %s has no DNS name", s.res.endpointID)
	}

	if err := s.waitRunning(ctx, c, s.res.client); err != nil {
		return err
	}
	s.out.say("The provider has not accepted the connection yet, so the endpoint carries nothing:")
	return s.curlFails(ctx, s.res.client, "http://"+s.res.endpointDNS+"/", 3)
}

// accept is step 5: the provider accepts, the endpoint becomes available.
func (s *scenario) accept(ctx context.Context) error {
	s.out.section("5. Provider: accept the connection")
	p := s.prov
	s.out.aws(p.name, "ec2", "describe-vpc-endpoint-connections", "--filters", "Name=service-id,Values="+s.res.serviceID)
	res, err := p.ec2(ctx, "DescribeVpcEndpointConnections", "Filter.1.Name", "service-id", "Filter.1.Value.1", s.res.serviceID)
	if err != nil {
		return fmt.Errorf("describe the service's connections: %w", err)
	}
	for _, c := range res.All("vpcEndpointConnectionSet", "item") {
		s.out.result("VpcEndpointId", c.Value("vpcEndpointId"), "VpcEndpointOwner", c.Value("vpcEndpointOwner"),
			"VpcEndpointState", c.Value("vpcEndpointState"))
	}
	s.out.say("The provider sees the consumer's account and endpoint, never its VPC.")

	s.out.aws(p.name, "ec2", "accept-vpc-endpoint-connections", "--service-id", s.res.serviceID, "--vpc-endpoint-ids", s.res.endpointID)
	res, err = p.ec2(ctx, "AcceptVpcEndpointConnections", "ServiceId", s.res.serviceID, "VpcEndpointId.1", s.res.endpointID)
	if err != nil {
		return fmt.Errorf("accept the connection: %w", err)
	}
	if err := unsuccessful(res); err != nil {
		return fmt.Errorf("accept the connection: %w", err)
	}
	s.out.result("Unsuccessful", "[]")

	s.out.aws(s.cons.name, "ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", s.res.endpointID,
		"--query", "VpcEndpoints[0].State")
	states, err := s.waitEndpointAvailable(ctx)
	if err != nil {
		return err
	}
	s.out.result("State", strings.Join(states, " → "))
	enis, err := s.interfaces(ctx, s.cons, s.res.consVPC, "vpc_endpoint")
	if err != nil {
		return err
	}
	s.out.result("Endpoint interfaces", strings.Join(enis, ", "))
	return nil
}

// traffic is step 6: curl through the endpoint by its names, and not to
// the provider's address.
func (s *scenario) traffic(ctx context.Context) error {
	s.out.section("6. Consumer: traffic through the endpoint")
	s.out.say("From the consumer's client, by the endpoint's DNS name:")
	if err := s.curlOK(ctx, s.res.client, "http://"+s.res.endpointDNS+"/"); err != nil {
		return err
	}
	if err := s.providerLog(ctx); err != nil {
		return err
	}
	if err := s.privateDNS(ctx); err != nil {
		return err
	}
	s.out.say("The provider's web server is %s, in the provider's VPC. The consumer's VPC uses the same\n"+
		"%s, so from the client %s is the consumer's own address space: nothing there has it,\n"+
		"and nothing routes to the provider's VPC. Only the endpoint leads there:", webIP, vpcCIDR, webIP)
	return s.curlFails(ctx, s.res.client, "http://"+webIP+"/", 2)
}

// providerLog shows, from the web server's console log, that the provider
// sees the connections come from its load balancer's nodes.
func (s *scenario) providerLog(ctx context.Context) error {
	s.out.say("The provider's web server sees the requests come from its load balancer's nodes:")
	s.out.cmd(append([]string{"privlink", "console-output", s.res.web}, s.t.dataDirArgs()...)...)
	co, err := s.t.adminClient().ConsoleOutput(ctx, s.res.web)
	if err != nil {
		return fmt.Errorf("console output of the web server: %w", err)
	}
	var lines []string
	for line := range strings.Lines(co.Output) {
		if strings.Contains(line, `"GET `) {
			lines = append(lines, line)
		}
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	s.out.output(strings.Join(lines, ""))
	return nil
}

// privateDNS verifies the service's private DNS name and reaches the
// service by it, when the daemon's verification resolver is the demo's.
func (s *scenario) privateDNS(ctx context.Context) error {
	ch := s.res.privateDNS
	if s.txt == nil || ch == nil {
		s.out.say("(Private DNS name skipped: proving it needs a TXT record that the daemon can look up, and the\n" +
			"demo serves one only to the daemon it starts itself, with --verification-resolver.)")
		return nil
	}
	p, c := s.prov, s.cons
	record := ch.name + "." + privateDNSName
	s.out.say("The provider proves that it owns %s: it publishes the TXT record the service asked\n"+
		"for (here in a small DNS server the demo runs at %s, the daemon's --verification-resolver;\n"+
		"in real life at its DNS provider) and asks for verification:\n\n  %s. 0 IN TXT %q",
		privateDNSName, s.txt.Addr(), record, ch.value)
	s.txt.Set(record, ch.value)
	s.out.aws(p.name, "ec2", "start-vpc-endpoint-service-private-dns-verification", "--service-id", s.res.serviceID)
	if _, err := p.ec2(ctx, "StartVpcEndpointServicePrivateDnsVerification", "ServiceId", s.res.serviceID); err != nil {
		return fmt.Errorf("verify the private DNS name: %w", err)
	}
	s.out.aws(p.name, "ec2", "describe-vpc-endpoint-service-configurations", "--service-ids", s.res.serviceID,
		"--query", "ServiceConfigurations[0].PrivateDnsNameConfiguration.State")
	err := poll(ctx, waitVerified, "the private DNS name to be verified", func(ctx context.Context) (string, bool, error) {
		res, err := p.ec2(ctx, "DescribeVpcEndpointServiceConfigurations", "ServiceId.1", s.res.serviceID)
		if err != nil {
			return "", false, err
		}
		state := res.Value("serviceConfigurationSet", "item", "privateDnsNameConfiguration", "state")
		if state == "failed" {
			return state, false, fmt.Errorf("verification of %s failed", privateDNSName)
		}
		return state, state == "verified", nil
	})
	if err != nil {
		return err
	}
	s.out.result("State", "verified")

	s.out.say("The consumer turns on private DNS for its endpoint:")
	s.out.aws(c.name, "ec2", "modify-vpc-endpoint", "--vpc-endpoint-id", s.res.endpointID, "--private-dns-enabled")
	if _, err := c.ec2(ctx, "ModifyVpcEndpoint", "VpcEndpointId", s.res.endpointID, "PrivateDnsEnabled", "true"); err != nil {
		return fmt.Errorf("turn on private DNS for the endpoint: %w", err)
	}
	if _, err := s.waitEndpointAvailable(ctx); err != nil {
		return err
	}
	ep, err := s.describeEndpoint(ctx)
	if err != nil {
		return err
	}
	s.out.result("PrivateDnsEnabled", ep.Value("privateDnsEnabled"))
	for _, name := range ep.Values("dnsEntrySet", "item", "dnsName") {
		s.out.result("DnsName", name)
	}
	s.out.say("From the client, by the service's private DNS name:")
	return s.curlOK(ctx, s.res.client, "http://"+privateDNSName+"/")
}

// explore prints how to look around after --keep.
func (s *scenario) explore(runErr error) {
	s.out.section("Everything stays (--keep)")
	if runErr != nil {
		fmt.Fprintf(s.out.w, "The demo failed (%v); what it created stays for a look.\n", runErr)
	}
	fmt.Fprintf(s.out.w, "API endpoint:  %s   (region %s)\n", s.t.endpoint, s.t.region)
	for _, a := range []*account{s.prov, s.cons} {
		if a == nil {
			continue
		}
		fmt.Fprintf(s.out.w, "%-14s account %s: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n",
			a.name+":", a.id, a.creds.AccessKeyID, a.creds.SecretAccessKey)
	}
	if s.prov != nil && s.cons != nil {
		fmt.Fprintf(s.out.w, "\n~/.aws/credentials:\n%s\n", s.credentialsSnippet())
	}
	fmt.Fprintln(s.out.w, "\nTry:")
	try := func(argv ...string) { fmt.Fprintf(s.out.w, "  %s\n", strings.Join(quoteAll(argv), " ")) }
	if s.res.client != "" {
		if s.res.endpointDNS != "" {
			try("privlink", "exec", s.res.client, "--", "curl", "-s", "http://"+s.res.endpointDNS+"/")
			try("privlink", "exec", s.res.client, "--", "getent", "hosts", s.res.endpointDNS)
		}
		if s.res.privateDNS != nil {
			try("privlink", "exec", s.res.client, "--", "curl", "-s", "http://"+privateDNSName+"/")
		}
		try("privlink", "exec", s.res.client, "--", "ip", "addr")
	}
	if s.res.web != "" {
		try("privlink", "exec", s.res.web, "--", "ss", "-tn")
		try(append([]string{"privlink", "console-output", s.res.web}, s.t.dataDirArgs()...)...)
	}
	if s.cons != nil {
		try("aws", "ec2", "describe-vpc-endpoints", "--profile", "consumer", "--endpoint-url", s.t.endpoint)
	}
	if s.prov != nil {
		try("aws", "ec2", "describe-vpc-endpoint-connections", "--profile", "provider", "--endpoint-url", s.t.endpoint)
	}
	try(append([]string{"privlink", "status"}, s.t.dataDirArgs()...)...)
	if s.t.own != nil {
		fmt.Fprintf(s.out.w, "\nThe demo's daemon keeps running here until Ctrl-C (data dir %s). Its namespaces stay\n"+
			"after that; `privlink server --data-dir %s --listen %s` picks them up again.\n",
			s.t.dataDir, s.t.dataDir, strings.TrimPrefix(s.t.endpoint, "http://"))
	}
}

func quoteAll(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = shellQuote(a)
	}
	return out
}

// createVPC creates a VPC with the demo's CIDR and waits until it is
// available.
func (s *scenario) createVPC(ctx context.Context, a *account, name string) (string, error) {
	s.out.aws(a.name, append([]string{"ec2", "create-vpc", "--cidr-block", vpcCIDR}, cliTag("vpc", name)...)...)
	res, err := a.ec2(ctx, "CreateVpc", append([]string{"CidrBlock", vpcCIDR}, nameTag("vpc", name)...)...)
	if err != nil {
		return "", fmt.Errorf("create the %s's VPC: %w", a.name, err)
	}
	id := res.Value("vpc", "vpcId")
	s.out.result("VpcId", id, "CidrBlock", res.Value("vpc", "cidrBlock"), "State", res.Value("vpc", "state"))
	return id, nil
}

// createSubnets creates the two subnets, in zones a and b.
func (s *scenario) createSubnets(ctx context.Context, a *account, vpc, who string) ([]string, error) {
	var ids []string
	for i, sn := range []struct{ cidr, zone string }{{subnetACIDR, s.zone("a")}, {subnetBCIDR, s.zone("b")}} {
		name := fmt.Sprintf("%s-%c", who, 'a'+i)
		s.out.aws(a.name, append([]string{"ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", sn.cidr,
			"--availability-zone", sn.zone}, cliTag("subnet", name)...)...)
		res, err := a.ec2(ctx, "CreateSubnet", append([]string{"VpcId", vpc, "CidrBlock", sn.cidr, "AvailabilityZone", sn.zone},
			nameTag("subnet", name)...)...)
		if err != nil {
			return ids, fmt.Errorf("create the %s's subnet in %s: %w", a.name, sn.zone, err)
		}
		id := res.Value("subnet", "subnetId")
		ids = append(ids, id)
		s.out.result("SubnetId", id, "AvailabilityZone", res.Value("subnet", "availabilityZone"))
	}
	return ids, nil
}

// createGroup creates a security group that allows TCP 80 from the VPC.
func (s *scenario) createGroup(ctx context.Context, a *account, vpc, name, desc string) (string, error) {
	s.out.aws(a.name, "ec2", "create-security-group", "--group-name", name, "--description", desc, "--vpc-id", vpc)
	res, err := a.ec2(ctx, "CreateSecurityGroup", "GroupName", name, "GroupDescription", desc, "VpcId", vpc)
	if err != nil {
		return "", fmt.Errorf("create the %s's security group: %w", a.name, err)
	}
	id := res.Value("groupId")
	s.out.result("GroupId", id)
	s.out.aws(a.name, "ec2", "authorize-security-group-ingress", "--group-id", id, "--protocol", "tcp", "--port", "80", "--cidr", vpcCIDR)
	_, err = a.ec2(ctx, "AuthorizeSecurityGroupIngress", "GroupId", id, "IpPermissions.1.IpProtocol", "tcp",
		"IpPermissions.1.FromPort", "80", "IpPermissions.1.ToPort", "80", "IpPermissions.1.IpRanges.1.CidrIp", vpcCIDR)
	if err != nil {
		return id, fmt.Errorf("allow TCP 80 into %s: %w", id, err)
	}
	return id, nil
}

// runInstance launches one instance; ip, group and userData may be empty.
func (s *scenario) runInstance(ctx context.Context, a *account, subnet, ip, group, userData, name string) (string, error) {
	params := append([]string{"ImageId", imageID, "InstanceType", instType, "MinCount", "1", "MaxCount", "1", "SubnetId", subnet},
		nameTag("instance", name)...)
	if ip != "" {
		params = append(params, "PrivateIpAddress", ip)
	}
	if group != "" {
		params = append(params, "SecurityGroupId.1", group)
	}
	if userData != "" {
		params = append(params, "UserData", base64.StdEncoding.EncodeToString([]byte(userData)))
	}
	res, err := a.ec2(ctx, "RunInstances", params...)
	if err != nil {
		return "", fmt.Errorf("launch the %s's instance %s: %w", a.name, name, err)
	}
	inst := res.Get("instancesSet", "item")
	id := inst.Value("instanceId")
	if id == "" {
		return "", fmt.Errorf("launch the %s's instance %s: no instance id in the answer", a.name, name)
	}
	if ip == "" {
		s.out.result("InstanceId", id, "PrivateIpAddress", inst.Value("privateIpAddress"))
	}
	return id, nil
}

// waitRunning waits for an instance to run.
func (s *scenario) waitRunning(ctx context.Context, a *account, id string) error {
	s.out.aws(a.name, "ec2", "wait", "instance-running", "--instance-ids", id)
	err := poll(ctx, waitInstance, "instance "+id+" to run", func(ctx context.Context) (string, bool, error) {
		state, err := instanceState(ctx, a, id)
		return state, state == "running", err
	})
	if err == nil {
		s.out.result("InstanceId", id, "State", "running")
	}
	return err
}

func instanceState(ctx context.Context, a *account, id string) (string, error) {
	res, err := a.ec2(ctx, "DescribeInstances", "InstanceId.1", id)
	if err != nil {
		return "", err
	}
	return res.Value("reservationSet", "item", "instancesSet", "item", "instanceState", "name"), nil
}

// interfaces lists the interfaces of one type ("" for all) in a VPC as
// "id ip (zone)", and remembers their ids for the final check.
func (s *scenario) interfaces(ctx context.Context, a *account, vpc, typ string) ([]string, error) {
	res, err := a.ec2(ctx, "DescribeNetworkInterfaces", "Filter.1.Name", "vpc-id", "Filter.1.Value.1", vpc)
	if err != nil {
		return nil, fmt.Errorf("describe the interfaces of %s: %w", vpc, err)
	}
	nodes := res.All("networkInterfaceSet", "item")
	slices.SortStableFunc(nodes, func(a, b *awsclient.Node) int {
		return strings.Compare(a.Value("availabilityZone"), b.Value("availabilityZone"))
	})
	var out []string
	for _, n := range nodes {
		if typ != "" && n.Value("interfaceType") != typ {
			continue
		}
		id := n.Value("networkInterfaceId")
		if !slices.Contains(s.res.enis, id) {
			s.res.enis = append(s.res.enis, id)
		}
		out = append(out, fmt.Sprintf("%s %s (%s)", id, n.Value("privateIpAddress"), n.Value("availabilityZone")))
	}
	return out, nil
}

// describeEndpoint describes the demo's endpoint as the consumer.
func (s *scenario) describeEndpoint(ctx context.Context) (*awsclient.Node, error) {
	res, err := s.cons.ec2(ctx, "DescribeVpcEndpoints", "VpcEndpointId.1", s.res.endpointID)
	if err != nil {
		return nil, fmt.Errorf("describe the endpoint: %w", err)
	}
	ep := res.Get("vpcEndpointSet", "item")
	if ep == nil {
		return nil, fmt.Errorf("describe the endpoint: %s not found", s.res.endpointID)
	}
	return ep, nil
}

// waitEndpointAvailable waits for the endpoint to be available and returns
// the states it went through.
func (s *scenario) waitEndpointAvailable(ctx context.Context) ([]string, error) {
	var states []string
	err := poll(ctx, waitEndpoint, "endpoint "+s.res.endpointID+" to be available", func(ctx context.Context) (string, bool, error) {
		ep, err := s.describeEndpoint(ctx)
		if err != nil {
			return "", false, err
		}
		state := ep.Value("state")
		if len(states) == 0 || states[len(states)-1] != state {
			states = append(states, state)
		}
		switch state {
		case "failed", "rejected", "deleting", "deleted":
			return state, false, fmt.Errorf("endpoint %s is %s: %s", s.res.endpointID, state, ep.Value("lastError", "message"))
		}
		return state, state == "available", nil
	})
	return states, err
}

// unsuccessful turns the unsuccessful items of a batch call into an error.
func unsuccessful(res *awsclient.Node) error {
	var errs []error
	for _, it := range res.All("unsuccessful", "item") {
		errs = append(errs, fmt.Errorf("%s: %s: %s", it.Value("resourceId"), it.Value("error", "code"), it.Value("error", "message")))
	}
	return errors.Join(errs...)
}

// curlResult is what one curl in an instance did.
type curlResult struct {
	code           int
	stdout, stderr string
}

// curl runs curl inside an instance's namespace, as `privlink exec` does.
func (s *scenario) curl(ctx context.Context, instance, url string, maxTime int) (curlResult, error) {
	argv := []string{s.tools.curl, "-sS", "-m", fmt.Sprint(maxTime), url}
	cmd := nsexec.Command(ctx, s.tools.self, model.NamespaceName(instance), argv)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := curlResult{stdout: stdout.String(), stderr: stderr.String()}
	if exitErr, ok := errors.AsType[*exec.ExitError](err); ok {
		r.code = exitErr.ExitCode()
	} else if err != nil {
		return r, fmt.Errorf("curl in %s: %w", instance, err)
	}
	if r.code == nsexec.ExitNotFound || r.code == nsexec.ExitCannotExecute {
		return r, fmt.Errorf("curl in %s: %s", instance, strings.TrimSpace(r.stderr))
	}
	return r, nil
}

// curlOK prints and runs curl from an instance until it succeeds.
func (s *scenario) curlOK(ctx context.Context, instance, url string) error {
	s.out.cmd("privlink", "exec", instance, "--", "curl", "-sS", "-m", "5", url)
	var r curlResult
	err := poll(ctx, waitCurl, "curl "+url+" to succeed", func(ctx context.Context) (string, bool, error) {
		var err error
		if r, err = s.curl(ctx, instance, url, 5); err != nil {
			return "", false, err
		}
		return strings.TrimSpace(r.stderr), r.code == 0, nil
	})
	if err != nil {
		return err
	}
	s.out.output(r.stdout)
	return nil
}

// curlFails prints and runs curl from an instance once, and fails if it
// reaches anything.
func (s *scenario) curlFails(ctx context.Context, instance, url string, maxTime int) error {
	s.out.cmd("privlink", "exec", instance, "--", "curl", "-sS", "-m", fmt.Sprint(maxTime), url)
	r, err := s.curl(ctx, instance, url, maxTime)
	if err != nil {
		return err
	}
	if r.code == 0 {
		return fmt.Errorf("curl %s from %s succeeded, but it must not: it answered %q", url, instance, strings.TrimSpace(r.stdout))
	}
	s.out.output(r.stderr)
	s.out.result("curl exit status", fmt.Sprintf("%d (%s)", r.code, curlMeaning(r.code)))
	return nil
}

// curlMeaning explains curl's exit statuses that the demo shows.
func curlMeaning(code int) string {
	switch code {
	case 6:
		return "the name does not resolve"
	case 7:
		return "the connection was refused"
	case 28:
		return "timed out: nothing answers"
	case 52:
		return "an empty reply"
	case 56:
		return "the connection was reset"
	}
	return "failed"
}

// poll calls check every pollInterval until it reports done, returns an
// error, or timeout passes. check returns a short status for the timeout
// message.
func poll(ctx context.Context, timeout time.Duration, what string, check func(context.Context) (status string, done bool, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		status, done, err := check(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("wait for %s: %w", what, ctx.Err())
			}
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("wait for %s: %w", what, ctx.Err())
			}
			if status == "" {
				status = "unknown"
			}
			return fmt.Errorf("wait for %s: not after %v (last: %s)", what, timeout, status)
		case <-tick.C:
		}
	}
}
