package controlplane

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// maxTargetsPerGroup is how many targets (draining ones included) one
// target group may have registered.
const maxTargetsPerGroup = 1000

// targetZoneAll is the AvailabilityZone that asks for traffic from every
// enabled zone, allowed only for IP addresses outside the VPC.
const targetZoneAll = "all"

// TargetDescription names a target in RegisterTargets, DeregisterTargets
// and DescribeTargetHealth. Port 0 is the group's port.
type TargetDescription struct {
	ID               string
	Port             int32
	AvailabilityZone string
	// QuicServerID belongs to QUIC target groups, which privlink does not
	// carry: any value is refused.
	QuicServerID string
}

// RegisterTargetsInput is the input of RegisterTargets.
type RegisterTargetsInput struct {
	TargetGroupARN string
	Targets        []TargetDescription
}

// DeregisterTargetsInput is the input of DeregisterTargets.
type DeregisterTargetsInput struct {
	TargetGroupARN string
	Targets        []TargetDescription
}

// DescribeTargetHealthInput is the input of DescribeTargetHealth. Without
// Targets every registered target is described; Include may ask for
// AnomalyDetection (or All), which Network Load Balancers do not have.
type DescribeTargetHealthInput struct {
	TargetGroupARN string
	Targets        []TargetDescription
	Include        []string
}

// TargetHealthReport is one target's health as DescribeTargetHealth
// reports it. AvailabilityZone is the zone the target was registered with
// ("" when none was given); Reason and Description are "" for healthy.
type TargetHealthReport struct {
	ID               string
	Port             int32
	AvailabilityZone string
	HealthCheckPort  string
	State            string
	Reason           string
	Description      string
}

// purgeGoneTargets drops the targets whose drain is over.
func (s *Service) purgeGoneTargets(tg *model.TargetGroup) {
	now := s.now()
	tg.Targets = slices.DeleteFunc(tg.Targets, func(t model.Target) bool { return t.Gone(now) })
}

// targetPort returns the port of d: its own, or the group's.
func targetPort(tg *model.TargetGroup, d TargetDescription) (int32, error) {
	switch {
	case d.Port == 0:
		return tg.Port, nil
	case d.Port < 1 || d.Port > 65535:
		return 0, validationError("Port '%d' of target '%s' must be between 1 and 65535", d.Port, d.ID)
	}
	return d.Port, nil
}

// checkTargetID validates the shape of a target id for the group's target
// type: an instance id, or an IPv4 address.
func checkTargetID(tg *model.TargetGroup, id string) error {
	if id == "" {
		return validationError("A target ID must be specified")
	}
	if tg.TargetType == model.TargetTypeIP {
		if a, err := netip.ParseAddr(id); err != nil || !a.Is4() {
			return validationError("The IP address '%s' is not a valid IPv4 address", id)
		}
		return nil
	}
	if !model.ValidID(model.PrefixInstance, id) {
		return validationError("Instance ID '%s' is not valid", id)
	}
	return nil
}

// quoteIDs formats ids as ELBv2 lists them in messages: 'a', 'b'.
func quoteIDs(ids []string) string {
	return "'" + strings.Join(ids, "', '") + "'"
}

// resolveTargets checks the targets of a RegisterTargets call against the
// group and resolves each to its address and zone. Errors name every
// offending target of the first kind found, as ELBv2's do.
func (s *Service) resolveTargets(tx store.ReadTx, account string, tg *model.TargetGroup, in []TargetDescription) ([]model.Target, error) {
	if len(in) == 0 {
		return nil, validationError("At least one target must be specified")
	}
	var subnets []*model.Subnet
	if tg.TargetType == model.TargetTypeIP {
		var err error
		if subnets, err = vpcSubnets(tx, account, tg.VpcID); err != nil {
			return nil, err
		}
	}
	var out []model.Target
	var missing, otherVPC, notRunning []string
	for _, d := range in {
		if err := checkTargetID(tg, d.ID); err != nil {
			return nil, err
		}
		if d.QuicServerID != "" {
			return nil, validationError("A QUIC server ID can only be specified for targets of QUIC and TCP_QUIC target groups")
		}
		port, err := targetPort(tg, d)
		if err != nil {
			return nil, err
		}
		t := model.Target{ID: d.ID, Port: port}
		if tg.TargetType == model.TargetTypeInstance {
			if d.AvailabilityZone != "" {
				return nil, validationError("An Availability Zone cannot be specified for targets of target groups with target type 'instance'")
			}
			i, found, err := getRecord[model.Instance](tx, instanceKey(account, d.ID))
			if err != nil {
				return nil, err
			}
			switch {
			case !found || s.expired(i):
				missing = append(missing, d.ID)
			case i.VpcID != tg.VpcID:
				otherVPC = append(otherVPC, d.ID)
			case i.State != model.InstanceRunning && i.State != model.InstancePending:
				notRunning = append(notRunning, d.ID)
			default:
				t.IP, t.Zone = i.PrivateIP, i.AvailabilityZone
			}
		} else {
			sn, err := subnetHolding(subnets, d.ID)
			if err != nil {
				return nil, err
			}
			if sn == nil {
				return nil, elbError(codeInvalidTarget, "The IP address '%s' is not within the VPC's subnets", d.ID)
			}
			switch d.AvailabilityZone {
			case "", sn.AvailabilityZone:
			case targetZoneAll:
				return nil, validationError("The Availability Zone 'all' can only be specified for IP addresses outside the target group's VPC; '%s' is in subnet '%s'", d.ID, sn.ID)
			default:
				return nil, validationError("The IP address '%s' is in Availability Zone '%s', not '%s'", d.ID, sn.AvailabilityZone, d.AvailabilityZone)
			}
			t.AvailabilityZone = d.AvailabilityZone
			t.IP, t.Zone = d.ID, sn.AvailabilityZone
		}
		out = append(out, t)
	}
	switch {
	case len(missing) > 0:
		return nil, elbError(codeInvalidTarget, "The following instances do not exist: %s", quoteIDs(dedupe(missing)))
	case len(otherVPC) > 0:
		return nil, elbError(codeInvalidTarget, "The following targets are not in the target group VPC '%s': %s", tg.VpcID, quoteIDs(dedupe(otherVPC)))
	case len(notRunning) > 0:
		return nil, elbError(codeInvalidTarget, "The following targets are not in a running state and cannot be registered: %s", quoteIDs(dedupe(notRunning)))
	}
	return out, nil
}

// subnetHolding returns the subnet among subnets whose CIDR holds ip, or
// nil.
func subnetHolding(subnets []*model.Subnet, ip string) (*model.Subnet, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, nil
	}
	for _, sn := range subnets {
		p, err := subnetPrefix(sn)
		if err != nil {
			return nil, err
		}
		if p.Contains(a) {
			return sn, nil
		}
	}
	return nil, nil
}

// RegisterTargets registers instances or IP addresses with a target group
// in one transaction: all of them or, on any error, none. Registering a
// target that is draining registers it afresh (its health checks start
// over); registering one that is already registered changes nothing.
func (s *Service) RegisterTargets(ctx context.Context, account string, in RegisterTargetsInput) error {
	return s.update(ctx, false, func(tx store.Tx) error {
		tg, err := s.loadTargetGroup(tx, account, in.TargetGroupARN)
		if err != nil {
			return err
		}
		targets, err := s.resolveTargets(tx, account, tg, in.Targets)
		if err != nil {
			return err
		}
		s.purgeGoneTargets(tg)
		now := s.now().UTC()
		for _, t := range targets {
			i := slices.IndexFunc(tg.Targets, func(have model.Target) bool { return have.Key() == t.Key() })
			if i >= 0 && tg.Targets[i].DrainUntil.IsZero() {
				continue
			}
			t.Registered = now
			if i >= 0 {
				tg.Targets[i] = t
				continue
			}
			tg.Targets = append(tg.Targets, t)
		}
		if len(tg.Targets) > maxTargetsPerGroup {
			return elbError(codeTooManyTargets, "You've reached the limit on the number of targets registered to a target group (%d)", maxTargetsPerGroup)
		}
		return s.putTargetGroup(tx, account, tg)
	})
}

// deregistrationDelay is the group's deregistration_delay.timeout_seconds.
func deregistrationDelay(tg *model.TargetGroup) time.Duration {
	n, err := strconv.Atoi(tg.Attributes[model.AttrDeregistrationDelay])
	if err != nil || n < 0 {
		n = 300
	}
	return time.Duration(n) * time.Second
}

// DeregisterTargets starts draining registered targets: each stays, as
// draining, for the group's deregistration delay and is gone afterwards (at
// once with a delay of 0). A target that is not registered, or already
// draining, is left as it is: "If the specified target does not exist, the
// action returns successfully."
func (s *Service) DeregisterTargets(ctx context.Context, account string, in DeregisterTargetsInput) error {
	return s.update(ctx, false, func(tx store.Tx) error {
		tg, err := s.loadTargetGroup(tx, account, in.TargetGroupARN)
		if err != nil {
			return err
		}
		if len(in.Targets) == 0 {
			return validationError("At least one target must be specified")
		}
		keys := make([]string, 0, len(in.Targets))
		for _, d := range in.Targets {
			if err := checkTargetID(tg, d.ID); err != nil {
				return err
			}
			port, err := targetPort(tg, d)
			if err != nil {
				return err
			}
			keys = append(keys, model.Target{ID: d.ID, Port: port}.Key())
		}
		now := s.now().UTC()
		drainUntil := now.Add(deregistrationDelay(tg))
		for i := range tg.Targets {
			t := &tg.Targets[i]
			if slices.Contains(keys, t.Key()) && t.DrainUntil.IsZero() {
				t.DrainUntil = drainUntil
			}
		}
		s.purgeGoneTargets(tg)
		return s.putTargetGroup(tx, account, tg)
	})
}

// targetHealthView holds what DescribeTargetHealth derives every target's
// state from, read once per call.
type targetHealthView struct {
	now     time.Time
	inUse   bool
	zones   map[string]bool // the zones of the load balancers' nodes
	health  map[string]model.TargetHealthStatus
	account string
}

// describeTarget derives the health of one target of tg; t is nil when
// the target is not registered.
func (s *Service) describeTarget(tx store.ReadTx, v *targetHealthView, tg *model.TargetGroup, id string, port int32, t *model.Target) (TargetHealthReport, error) {
	d := TargetHealthReport{ID: id, Port: port, HealthCheckPort: tg.HealthCheck.Port}
	if d.HealthCheckPort == model.TrafficPort || d.HealthCheckPort == "" {
		d.HealthCheckPort = strconv.Itoa(int(port))
	}
	set := func(state, reason, description string) (TargetHealthReport, error) {
		d.State, d.Reason, d.Description = state, reason, description
		if description == "" && state != model.TargetHealthy {
			d.Description = TargetHealthDescription(reason)
		}
		if state == model.TargetHealthy {
			d.Reason, d.Description = "", ""
		}
		return d, nil
	}
	if t == nil || t.Gone(v.now) {
		return set(model.TargetUnused, model.ReasonNotRegistered, "")
	}
	d.AvailabilityZone = t.AvailabilityZone
	if t.Draining(v.now) {
		return set(model.TargetDraining, model.ReasonDeregistrationInProgress, "")
	}
	if !v.inUse {
		return set(model.TargetUnused, model.ReasonNotInUse, "")
	}
	if tg.TargetType == model.TargetTypeInstance {
		i, found, err := getRecord[model.Instance](tx, instanceKey(v.account, t.ID))
		if err != nil {
			return d, err
		}
		switch {
		case !found || s.expired(i) || i.State == model.InstanceTerminated || i.State == model.InstanceShuttingDown:
			return set(model.TargetUnused, model.ReasonInvalidState, "Target is in the terminated state")
		case i.State == model.InstanceStopped || i.State == model.InstanceStopping:
			return set(model.TargetUnused, model.ReasonInvalidState, "Target is in the stopped state")
		}
	}
	if !v.zones[t.Zone] {
		return set(model.TargetUnused, model.ReasonNotInUse, "Target is in an Availability Zone that is not enabled for the load balancer")
	}
	h, ok := v.health[t.Key()]
	if !ok || h.Since.Before(t.Registered) || h.State == "" {
		return set(model.TargetInitial, model.ReasonRegistrationInProgress, "")
	}
	if h.State == model.TargetUnhealthy {
		// Flows kept for a draining interval show as AWS shows them, until
		// the interval ends or the target recovers.
		if drain, reset := tg.UnhealthyDrain(); reset && drain > 0 && v.now.Before(h.Since.Add(drain)) {
			return set(model.TargetUnhealthyDraining, h.Reason, h.Description)
		}
	}
	return set(h.State, h.Reason, h.Description)
}

// DescribeTargetHealth reports the health of a group's targets: every
// registered one (draining ones included) in registration order, or those
// asked for, in request order. A target asked for without a port stands
// for each of its registrations (or, with none, for the group's port).
//
// The state comes first from registration (unused/Target.NotRegistered,
// draining), then from whether the target can get traffic at all
// (unused/Target.NotInUse with no load balancer or outside its zones,
// unused/Target.InvalidState for a stopped or terminated instance), and
// otherwise from what the health checks found (the controllers'
// TargetHealthSet); a target they have not checked since it was registered
// is initial/Elb.RegistrationInProgress, and an unhealthy one whose flows
// are kept for the group's draining interval is unhealthy.draining.
func (s *Service) DescribeTargetHealth(ctx context.Context, account string, in DescribeTargetHealthInput) ([]TargetHealthReport, error) {
	var out []TargetHealthReport
	err := s.view(ctx, false, func(tx store.ReadTx) error {
		tg, err := s.loadTargetGroup(tx, account, in.TargetGroupARN)
		if err != nil {
			return err
		}
		for _, inc := range in.Include {
			if inc != "AnomalyDetection" && inc != "All" {
				return validationError("Include value '%s' is not valid; valid values are AnomalyDetection and All", inc)
			}
		}
		v, err := s.targetHealthView(tx, account, tg)
		if err != nil {
			return err
		}
		out = []TargetHealthReport{}
		add := func(id string, port int32, t *model.Target) error {
			d, err := s.describeTarget(tx, v, tg, id, port, t)
			if err != nil {
				return err
			}
			out = append(out, d)
			return nil
		}
		if len(in.Targets) == 0 {
			for i := range tg.Targets {
				t := &tg.Targets[i]
				if t.Gone(v.now) {
					continue
				}
				if err := add(t.ID, t.Port, t); err != nil {
					return err
				}
			}
			return nil
		}
		for _, d := range in.Targets {
			if d.ID == "" {
				return validationError("A target ID must be specified")
			}
			if d.Port != 0 {
				port, err := targetPort(tg, d)
				if err != nil {
					return err
				}
				var match *model.Target
				for i := range tg.Targets {
					if t := &tg.Targets[i]; t.ID == d.ID && t.Port == port && !t.Gone(v.now) {
						match = t
					}
				}
				if err := add(d.ID, port, match); err != nil {
					return err
				}
				continue
			}
			found := false
			for i := range tg.Targets {
				if t := &tg.Targets[i]; t.ID == d.ID && !t.Gone(v.now) {
					found = true
					if err := add(t.ID, t.Port, t); err != nil {
						return err
					}
				}
			}
			if !found {
				if err := add(d.ID, tg.Port, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// targetHealthView reads what DescribeTargetHealth needs besides the
// group: the load balancers using it, their zones, and the health record.
func (s *Service) targetHealthView(tx store.ReadTx, account string, tg *model.TargetGroup) (*targetHealthView, error) {
	v := &targetHealthView{now: s.now(), zones: map[string]bool{}, account: account}
	lbARNs, err := targetGroupLoadBalancers(tx, account, tg.ARN)
	if err != nil {
		return nil, err
	}
	for _, arn := range lbARNs {
		id, ok := s.elbARNID(arn, "loadbalancer", account)
		if !ok {
			continue
		}
		lb, found, err := getRecord[model.LoadBalancer](tx, loadBalancerKey(account, id))
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		v.inUse = true
		for _, n := range lb.Nodes {
			v.zones[n.AvailabilityZone] = true
		}
	}
	if id, ok := s.elbARNID(tg.ARN, "targetgroup", account); ok {
		hs, found, err := getRecord[model.TargetHealthSet](tx, targetHealthKey(account, id))
		if err != nil {
			return nil, err
		}
		if found {
			v.health = hs.Targets
		}
	}
	return v, nil
}
