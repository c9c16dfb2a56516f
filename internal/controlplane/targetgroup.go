package controlplane

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// Target group limits and defaults (Network Load Balancer values).
const (
	maxTargetGroupNameLen = 32
	// maxTargetGroups is ELBv2's default quota of target groups per
	// account and region.
	maxTargetGroups = 3000

	defaultHealthCheckInterval       = 30
	defaultHealthCheckTimeoutTCP     = 10 // TCP and HTTPS health checks
	defaultHealthCheckTimeoutHTTP    = 6  // HTTP health checks
	defaultHealthyThreshold          = 5
	defaultUnhealthyThreshold        = 2
	defaultHealthCheckPath           = "/"
	defaultHealthCheckMatcher        = "200-399"
	minHealthCheckInterval           = 5
	maxHealthCheckInterval           = 300
	minHealthCheckTimeout            = 2
	maxHealthCheckTimeout            = 120
	minHealthCheckThreshold          = 2
	maxHealthCheckThreshold          = 10
	maxHealthCheckPathLen            = 1024
	minMatcherCode, maxMatcherCode   = 200, 599
	maxDeregistrationDelaySeconds    = 3600
	maxUnhealthyDrainingIntervalSecs = 360000
)

// Target group attribute keys besides those the model names.
const (
	attrDNSFailoverCount        = "target_group_health.dns_failover.minimum_healthy_targets.count"
	attrDNSFailoverPercentage   = "target_group_health.dns_failover.minimum_healthy_targets.percentage"
	attrUnhealthyRoutingCount   = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count"
	attrUnhealthyRoutingPercent = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage"
	stickinessTypeSourceIP      = "source_ip"
	crossZoneUseLoadBalancer    = "use_load_balancer_configuration"
	attrValueOff                = "off"
)

// defaultTargetGroupAttributes are the attributes of a new TCP target
// group. preserve_client_ip.enabled is false whatever the target type:
// privlink never preserves the client's address (targets always see the
// load balancer node's, as PrivateLink traffic does), and says so rather
// than pretend.
func defaultTargetGroupAttributes() map[string]string {
	return map[string]string{
		model.AttrDeregistrationDelay:      "300",
		model.AttrConnTermOnDeregistration: "false",
		model.AttrProxyProtocolV2:          "false",
		model.AttrPreserveClientIP:         "false",
		model.AttrStickinessEnabled:        "false",
		model.AttrStickinessType:           stickinessTypeSourceIP,
		model.AttrCrossZone:                crossZoneUseLoadBalancer,
		model.AttrUnhealthyConnTerm:        "true",
		model.AttrUnhealthyDraining:        "0",
		attrDNSFailoverCount:               "1",
		attrDNSFailoverPercentage:          attrValueOff,
		attrUnhealthyRoutingCount:          "1",
		attrUnhealthyRoutingPercent:        attrValueOff,
	}
}

// HealthCheckInput is the health check part of CreateTargetGroup and
// ModifyTargetGroup. A nil field is not given: CreateTargetGroup takes the
// Network Load Balancer default, ModifyTargetGroup keeps the current value.
type HealthCheckInput struct {
	Enabled            *bool
	Protocol           *string // TCP, HTTP, HTTPS
	Port               *string // "traffic-port" or a port number
	Path               *string
	IntervalSeconds    *int32
	TimeoutSeconds     *int32
	HealthyThreshold   *int32
	UnhealthyThreshold *int32
	Matcher            *string // Matcher.HttpCode
	GrpcMatcher        *string // Matcher.GrpcCode: never valid on an NLB
}

// CreateTargetGroupInput is the input of CreateTargetGroup.
type CreateTargetGroupInput struct {
	Name            string
	Protocol        string
	ProtocolVersion string
	Port            int32 // 0 is not given
	VpcID           string
	TargetType      string // "" is instance
	IPAddressType   string // "" is ipv4
	HealthCheck     HealthCheckInput
	// TargetControlPort is an Application Load Balancer feature; any
	// value is refused.
	TargetControlPort int32
	Tags              []model.Tag
}

// TargetGroup is the API view of a target group: the stored group and the
// ARNs of the load balancers whose listeners forward to it, sorted.
type TargetGroup struct {
	model.TargetGroup
	LoadBalancerARNs []string
}

// DescribeTargetGroupsInput is the input of DescribeTargetGroups: at most
// one of LoadBalancerARN, TargetGroupARNs and Names.
type DescribeTargetGroupsInput struct {
	LoadBalancerARN string
	TargetGroupARNs []string
	Names           []string
	Marker          string
	PageSize        int32 // 0 is the maximum, 400
}

// DescribeTargetGroupsOutput is one page of DescribeTargetGroups.
type DescribeTargetGroupsOutput struct {
	TargetGroups []TargetGroup
	NextMarker   string
}

// ModifyTargetGroupInput is the input of ModifyTargetGroup.
type ModifyTargetGroupInput struct {
	TargetGroupARN string
	HealthCheck    HealthCheckInput
}

// TargetGroupAttribute is one key and value of a target group's
// attributes.
type TargetGroupAttribute struct {
	Key, Value string
}

// ModifyTargetGroupAttributesInput is the input of
// ModifyTargetGroupAttributes.
type ModifyTargetGroupAttributesInput struct {
	TargetGroupARN string
	Attributes     []TargetGroupAttribute
}

// checkTargetGroupName applies ELBv2's naming rules.
func checkTargetGroupName(name string) error {
	if name == "" {
		return validationError("A target group name must be specified")
	}
	if len(name) > maxTargetGroupNameLen {
		return validationError("Target group name '%s' cannot be longer than '%d' characters", name, maxTargetGroupNameLen)
	}
	if !elbNameChars(name) {
		return validationError("Target group name '%s' can only contain characters that are alphanumeric characters or hyphens(-)", name)
	}
	if strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") {
		return validationError("Target group name '%s' cannot begin or end with '-'", name)
	}
	return nil
}

// checkTargetGroupProtocol accepts TCP, the one protocol privlink
// carries, and says why any other is refused.
func checkTargetGroupProtocol(p string) error {
	switch p {
	case model.ELBProtocolTCP:
		return nil
	case "":
		return validationError("A protocol must be specified")
	case "TLS", "UDP", "TCP_UDP", "QUIC", "TCP_QUIC":
		return validationError("privlink does not carry %s target groups yet; only TCP is supported", p)
	case model.ELBProtocolHTTP, model.ELBProtocolHTTPS, "GENEVE":
		return validationError("privlink serves only Network Load Balancer (TCP) target groups; %s target groups belong to Application or Gateway Load Balancers", p)
	default:
		return validationError("Protocol '%s' is not valid; privlink supports only TCP target groups", p)
	}
}

// checkTargetType accepts instance and ip.
func checkTargetType(t string) error {
	switch t {
	case model.TargetTypeInstance, model.TargetTypeIP:
		return nil
	case "alb", "lambda":
		return validationError("privlink does not support target type '%s' yet; only instance and ip are supported", t)
	default:
		return validationError("Target type '%s' is not valid; valid target types are instance and ip", t)
	}
}

// isHTTPHealthCheck reports whether a health check protocol is HTTP(S).
func isHTTPHealthCheck(protocol string) bool {
	return protocol == model.ELBProtocolHTTP || protocol == model.ELBProtocolHTTPS
}

// resolveHealthCheck applies in to cur (nil when creating: every field
// starts from the Network Load Balancer default) and validates the result.
func resolveHealthCheck(cur *model.HealthCheck, in HealthCheckInput, targetType string) (model.HealthCheck, error) {
	creating := cur == nil
	var hc model.HealthCheck
	if creating {
		hc = model.HealthCheck{
			Enabled: true, Protocol: model.ELBProtocolTCP, Port: model.TrafficPort,
			IntervalSeconds: defaultHealthCheckInterval, HealthyThreshold: defaultHealthyThreshold,
			UnhealthyThreshold: defaultUnhealthyThreshold,
		}
	} else {
		hc = *cur
	}
	if in.Enabled != nil && !*in.Enabled {
		return model.HealthCheck{}, validationError("Health check enabled must be true for target groups with target type '%s'", targetType)
	}
	hc.Enabled = true

	wasHTTP := !creating && isHTTPHealthCheck(cur.Protocol)
	if in.Protocol != nil {
		switch p := *in.Protocol; p {
		case model.ELBProtocolTCP, model.ELBProtocolHTTP, model.ELBProtocolHTTPS:
			hc.Protocol = p
		default:
			return model.HealthCheck{}, validationError("Health check protocol '%s' is not supported for target groups with the TCP protocol; use TCP, HTTP or HTTPS", p)
		}
	}
	httpCheck := isHTTPHealthCheck(hc.Protocol)

	if in.Port != nil {
		port, err := checkHealthCheckPort(*in.Port)
		if err != nil {
			return model.HealthCheck{}, err
		}
		hc.Port = port
	}

	switch {
	case in.Path != nil && !httpCheck:
		return model.HealthCheck{}, elbError(codeInvalidConfigurationRequest, "Health check paths are not supported for TCP health checks")
	case in.Path != nil:
		p := *in.Path
		if p == "" || len(p) > maxHealthCheckPathLen {
			return model.HealthCheck{}, validationError("Health check path must be between 1 and %d characters", maxHealthCheckPathLen)
		}
		if !strings.HasPrefix(p, "/") {
			return model.HealthCheck{}, validationError("Health check path '%s' must begin with '/'", p)
		}
		hc.Path = p
	case !httpCheck:
		hc.Path = ""
	case !wasHTTP || hc.Path == "":
		hc.Path = defaultHealthCheckPath
	}

	if in.GrpcMatcher != nil {
		return model.HealthCheck{}, validationError("gRPC matcher codes are not supported for target groups with the TCP protocol")
	}
	switch {
	case in.Matcher != nil && !httpCheck:
		return model.HealthCheck{}, elbError(codeInvalidConfigurationRequest, "Health check matchers are not supported for TCP health checks")
	case in.Matcher != nil:
		if err := checkMatcher(*in.Matcher); err != nil {
			return model.HealthCheck{}, err
		}
		hc.Matcher = *in.Matcher
	case !httpCheck:
		hc.Matcher = ""
	case !wasHTTP || hc.Matcher == "":
		hc.Matcher = defaultHealthCheckMatcher
	}

	if err := setInRange(&hc.IntervalSeconds, in.IntervalSeconds, minHealthCheckInterval, maxHealthCheckInterval,
		"Health check interval '%d' must be between %d and %d seconds"); err != nil {
		return model.HealthCheck{}, err
	}
	switch {
	case in.TimeoutSeconds != nil:
		if err := setInRange(&hc.TimeoutSeconds, in.TimeoutSeconds, minHealthCheckTimeout, maxHealthCheckTimeout,
			"Health check timeout '%d' must be between %d and %d seconds"); err != nil {
			return model.HealthCheck{}, err
		}
	case creating:
		// The documented default (6 s for HTTP checks, 10 s for TCP and
		// HTTPS), but never longer than a shorter interval asked for.
		hc.TimeoutSeconds = defaultHealthCheckTimeoutTCP
		if hc.Protocol == model.ELBProtocolHTTP {
			hc.TimeoutSeconds = defaultHealthCheckTimeoutHTTP
		}
		hc.TimeoutSeconds = min(hc.TimeoutSeconds, hc.IntervalSeconds)
	}
	if hc.TimeoutSeconds > hc.IntervalSeconds {
		return model.HealthCheck{}, validationError("Health check timeout '%d' must be smaller than or equal to the interval '%d'", hc.TimeoutSeconds, hc.IntervalSeconds)
	}

	if err := setInRange(&hc.HealthyThreshold, in.HealthyThreshold, minHealthCheckThreshold, maxHealthCheckThreshold,
		"Healthy threshold count '%d' must be between %d and %d"); err != nil {
		return model.HealthCheck{}, err
	}
	if err := setInRange(&hc.UnhealthyThreshold, in.UnhealthyThreshold, minHealthCheckThreshold, maxHealthCheckThreshold,
		"Unhealthy threshold count '%d' must be between %d and %d"); err != nil {
		return model.HealthCheck{}, err
	}
	return hc, nil
}

// setInRange sets *dst to *v when v is given and within lo..hi. A value
// out of range is a ValidationError: format gets the value, lo and hi.
func setInRange(dst, v *int32, lo, hi int32, format string) error {
	if v == nil {
		return nil
	}
	if *v < lo || *v > hi {
		return validationError(format, *v, lo, hi)
	}
	*dst = *v
	return nil
}

// checkHealthCheckPort accepts "traffic-port" or a port number, and
// returns the number in canonical form.
func checkHealthCheckPort(p string) (string, error) {
	if p == model.TrafficPort {
		return p, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", validationError("Health check port '%s' must be 'traffic-port' or a port number between 1 and 65535", p)
	}
	return strconv.Itoa(n), nil
}

// checkMatcher validates Matcher.HttpCode for a Network Load Balancer:
// codes from 200 to 599, as a list ("200,202") or a range ("200-399").
func checkMatcher(m string) error {
	bad := validationError("Health check matcher HTTP code '%s' is not valid; specify codes between %d and %d, e.g. '200', '200,202' or '200-399'", m, minMatcherCode, maxMatcherCode)
	if m == "" {
		return bad
	}
	code := func(s string) (int, bool) {
		if len(s) != 3 {
			return 0, false
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= minMatcherCode && n <= maxMatcherCode
	}
	for part := range strings.SplitSeq(m, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, ok := code(lo)
		if !ok {
			return bad
		}
		if isRange {
			b, ok := code(hi)
			if !ok || b < a {
				return bad
			}
		}
	}
	return nil
}

// sameTargetGroupSettings reports whether a CreateTargetGroup for an
// existing name asks for exactly the group that exists (tags aside).
func sameTargetGroupSettings(have *model.TargetGroup, want model.TargetGroup) bool {
	return have.Protocol == want.Protocol && have.Port == want.Port && have.VpcID == want.VpcID &&
		have.TargetType == want.TargetType && have.IPAddressType == want.IPAddressType &&
		have.HealthCheck == want.HealthCheck
}

// targetGroupLBIndex maps each target group ARN of account to the sorted
// ARNs of the load balancers whose listeners forward to it.
func targetGroupLBIndex(tx store.ReadTx, account string) (map[string][]string, error) {
	listeners, err := listListeners(tx, account)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, l := range listeners {
		if l.TargetGroupARN != "" && !slices.Contains(out[l.TargetGroupARN], l.LoadBalancerARN) {
			out[l.TargetGroupARN] = append(out[l.TargetGroupARN], l.LoadBalancerARN)
		}
	}
	for _, lbs := range out {
		slices.Sort(lbs)
	}
	return out, nil
}

// targetGroupView is the API view of tg.
func targetGroupView(tg *model.TargetGroup, lbs []string) TargetGroup {
	return TargetGroup{TargetGroup: *tg, LoadBalancerARNs: slices.Clone(lbs)}
}

// describeTargetGroup reads the load balancers of one group for its view.
func describeTargetGroup(tx store.ReadTx, account string, tg *model.TargetGroup) (TargetGroup, error) {
	lbs, err := targetGroupLoadBalancers(tx, account, tg.ARN)
	if err != nil {
		return TargetGroup{}, err
	}
	return targetGroupView(tg, lbs), nil
}

// findTargetGroupByName returns the caller's group named name, or nil.
func findTargetGroupByName(tx store.ReadTx, account, name string) (*model.TargetGroup, int, error) {
	all, err := listTargetGroups(tx, account)
	if err != nil {
		return nil, 0, err
	}
	for _, tg := range all {
		if tg.Name == name {
			return tg, len(all), nil
		}
	}
	return nil, len(all), nil
}

// CreateTargetGroup creates a TCP target group of instance or ip targets
// in one of the caller's VPCs. Asking again for a name that exists with the
// same settings returns the existing group, as ELBv2 does; with other
// settings it is DuplicateTargetGroupName.
func (s *Service) CreateTargetGroup(ctx context.Context, account string, in CreateTargetGroupInput) (TargetGroup, error) {
	var out TargetGroup
	err := s.update(ctx, false, func(tx store.Tx) error {
		if err := checkTargetGroupName(in.Name); err != nil {
			return err
		}
		targetType := in.TargetType
		if targetType == "" {
			targetType = model.TargetTypeInstance
		}
		if err := checkTargetType(targetType); err != nil {
			return err
		}
		if err := checkTargetGroupProtocol(in.Protocol); err != nil {
			return err
		}
		if in.ProtocolVersion != "" {
			return validationError("A protocol version can only be specified for target groups with the HTTP or HTTPS protocol")
		}
		if in.Port == 0 {
			return validationError("A port must be specified")
		}
		if in.Port < 1 || in.Port > 65535 {
			return validationError("Port '%d' must be between 1 and 65535", in.Port)
		}
		if in.TargetControlPort != 0 {
			return validationError("A target control port can only be specified for Application Load Balancer target groups")
		}
		if in.VpcID == "" {
			return validationError("A VPC ID must be specified")
		}
		if _, found, err := getRecord[model.Vpc](tx, store.Key(store.KindVpc, account, in.VpcID)); err != nil {
			return err
		} else if !found {
			return validationError("The VPC ID '%s' is not found", in.VpcID)
		}
		ipType := in.IPAddressType
		switch ipType {
		case "":
			ipType = model.IPAddressTypeIPv4
		case model.IPAddressTypeIPv4:
		case "ipv6":
			return validationError("privlink does not support IPv6 target groups yet; only ipv4 is supported")
		default:
			return validationError("IP address type '%s' is not valid; valid values are ipv4 and ipv6", ipType)
		}
		hc, err := resolveHealthCheck(nil, in.HealthCheck, targetType)
		if err != nil {
			return err
		}
		if err := elbTagsIn(in.Tags); err != nil {
			return err
		}
		tg := model.TargetGroup{
			Name: in.Name, OwnerID: account, VpcID: in.VpcID, Protocol: in.Protocol, Port: in.Port,
			TargetType: targetType, IPAddressType: ipType, HealthCheck: hc,
		}
		existing, count, err := findTargetGroupByName(tx, account, in.Name)
		if err != nil {
			return err
		}
		if existing != nil {
			if !sameTargetGroupSettings(existing, tg) {
				return elbError(codeDuplicateTargetGroupName, "A target group with the same name '%s' exists, but with different settings", in.Name)
			}
			out, err = describeTargetGroup(tx, account, existing)
			return err
		}
		if count >= maxTargetGroups {
			return elbError(codeTooManyTargetGroups, "You've reached the limit on the number of target groups for your AWS account")
		}
		suffix := model.NewELBSuffix()
		tg.ARN = model.TargetGroupARN(s.region, account, in.Name, suffix)
		tg.Attributes = defaultTargetGroupAttributes()
		tg.Tags = slices.Clone(in.Tags)
		tg.Created = s.now().UTC()
		if err := putRecord(tx, targetGroupKey(account, suffix), tg); err != nil {
			return err
		}
		out = targetGroupView(&tg, nil)
		return nil
	})
	if err != nil {
		return TargetGroup{}, err
	}
	return out, nil
}

// errTargetGroupsNotFound is DescribeTargetGroups' answer to a name or ARN
// that names none of the caller's groups.
func errTargetGroupsNotFound() error {
	return elbError(codeTargetGroupNotFound, "One or more target groups not found")
}

// DescribeTargetGroups describes the caller's target groups: all of them,
// those of one load balancer, or those named by ARN or by name (every one
// must exist), sorted by name, one page at a time.
func (s *Service) DescribeTargetGroups(ctx context.Context, account string, in DescribeTargetGroupsInput) (DescribeTargetGroupsOutput, error) {
	var out DescribeTargetGroupsOutput
	err := s.view(ctx, false, func(tx store.ReadTx) error {
		kinds := 0
		for _, given := range []bool{in.LoadBalancerARN != "", len(in.TargetGroupARNs) > 0, len(in.Names) > 0} {
			if given {
				kinds++
			}
		}
		if kinds > 1 {
			return validationError("Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time")
		}
		all, err := listTargetGroups(tx, account)
		if err != nil {
			return err
		}
		index, err := targetGroupLBIndex(tx, account)
		if err != nil {
			return err
		}
		var groups []*model.TargetGroup
		switch {
		case in.LoadBalancerARN != "":
			lb, err := s.loadLoadBalancer(tx, account, in.LoadBalancerARN)
			if err != nil {
				return err
			}
			for _, tg := range all {
				if slices.Contains(index[tg.ARN], lb.ARN) {
					groups = append(groups, tg)
				}
			}
		case len(in.TargetGroupARNs) > 0:
			byARN := make(map[string]*model.TargetGroup, len(all))
			for _, tg := range all {
				byARN[tg.ARN] = tg
			}
			for _, arn := range dedupe(in.TargetGroupARNs) {
				if _, ok := model.ParseELBARN(arn); !ok {
					return validationError("'%s' is not a valid target group ARN", arn)
				}
				tg, ok := byARN[arn]
				if !ok {
					return errTargetGroupsNotFound()
				}
				groups = append(groups, tg)
			}
		case len(in.Names) > 0:
			byName := make(map[string]*model.TargetGroup, len(all))
			for _, tg := range all {
				byName[tg.Name] = tg
			}
			for _, name := range dedupe(in.Names) {
				tg, ok := byName[name]
				if !ok {
					return errTargetGroupsNotFound()
				}
				groups = append(groups, tg)
			}
		default:
			groups = all
		}
		slices.SortFunc(groups, func(a, b *model.TargetGroup) int { return strings.Compare(a.Name, b.Name) })
		page, next, err := pageByMarker(groups, func(tg *model.TargetGroup) string { return tg.Name }, in.Marker, in.PageSize)
		if err != nil {
			return err
		}
		out.TargetGroups = make([]TargetGroup, 0, len(page))
		for _, tg := range page {
			out.TargetGroups = append(out.TargetGroups, targetGroupView(tg, index[tg.ARN]))
		}
		out.NextMarker = next
		return nil
	})
	if err != nil {
		return DescribeTargetGroupsOutput{}, err
	}
	return out, nil
}

// ModifyTargetGroup changes a target group's health check. Fields not
// given keep their values; switching to a TCP check drops the path and
// matcher, switching to an HTTP(S) one gives them their defaults.
func (s *Service) ModifyTargetGroup(ctx context.Context, account string, in ModifyTargetGroupInput) (TargetGroup, error) {
	var out TargetGroup
	err := s.update(ctx, false, func(tx store.Tx) error {
		tg, err := s.loadTargetGroup(tx, account, in.TargetGroupARN)
		if err != nil {
			return err
		}
		hc, err := resolveHealthCheck(&tg.HealthCheck, in.HealthCheck, tg.TargetType)
		if err != nil {
			return err
		}
		tg.HealthCheck = hc
		s.purgeGoneTargets(tg)
		if err := s.putTargetGroup(tx, account, tg); err != nil {
			return err
		}
		out, err = describeTargetGroup(tx, account, tg)
		return err
	})
	if err != nil {
		return TargetGroup{}, err
	}
	return out, nil
}

// putTargetGroup writes tg back under its ARN's suffix.
func (s *Service) putTargetGroup(tx store.Tx, account string, tg *model.TargetGroup) error {
	id, ok := s.elbARNID(tg.ARN, "targetgroup", account)
	if !ok {
		return validationError("'%s' is not a valid target group ARN", tg.ARN)
	}
	return putRecord(tx, targetGroupKey(account, id), tg)
}

// DeleteTargetGroupInput is the input of DeleteTargetGroup.
type DeleteTargetGroupInput struct {
	TargetGroupARN string
}

// DeleteTargetGroup deletes a target group that no listener forwards to,
// with its health record. A group that does not exist is success, as the
// ELBv2 model has no not-found error for this action.
func (s *Service) DeleteTargetGroup(ctx context.Context, account string, in DeleteTargetGroupInput) error {
	arn := in.TargetGroupARN
	return s.update(ctx, false, func(tx store.Tx) error {
		if _, ok := model.ParseELBARN(arn); !ok {
			return validationError("'%s' is not a valid target group ARN", arn)
		}
		id, ok := s.elbARNID(arn, "targetgroup", account)
		if !ok {
			return nil
		}
		tg, found, err := getRecord[model.TargetGroup](tx, targetGroupKey(account, id))
		if err != nil || !found || tg.ARN != arn {
			return err
		}
		lbs, err := targetGroupLoadBalancers(tx, account, arn)
		if err != nil {
			return err
		}
		if len(lbs) > 0 {
			return elbError(codeResourceInUse, "Target group '%s' is currently in use by a listener or a rule", arn)
		}
		if err := tx.Delete(targetGroupKey(account, id)); err != nil {
			return err
		}
		return tx.Delete(targetHealthKey(account, id))
	})
}

// attributesOut returns every attribute, sorted by key.
func attributesOut(attrs map[string]string) []TargetGroupAttribute {
	out := make([]TargetGroupAttribute, 0, len(attrs))
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		out = append(out, TargetGroupAttribute{Key: k, Value: attrs[k]})
	}
	return out
}

// DescribeTargetGroupAttributesInput is the input of
// DescribeTargetGroupAttributes.
type DescribeTargetGroupAttributesInput struct {
	TargetGroupARN string
}

// DescribeTargetGroupAttributes returns every attribute of a target group,
// defaults included, sorted by key.
func (s *Service) DescribeTargetGroupAttributes(ctx context.Context, account string, in DescribeTargetGroupAttributesInput) ([]TargetGroupAttribute, error) {
	var out []TargetGroupAttribute
	err := s.view(ctx, false, func(tx store.ReadTx) error {
		tg, err := s.loadTargetGroup(tx, account, in.TargetGroupARN)
		if err != nil {
			return err
		}
		out = attributesOut(tg.Attributes)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkBoolAttr, checkIntAttr and checkOffOrIntAttr validate attribute
// values.
func checkBoolAttr(key, v string) error {
	if v != "true" && v != "false" {
		return validationError("The value of attribute '%s' must be a boolean ('true' or 'false'), not '%s'", key, v)
	}
	return nil
}

func checkIntAttr(key, v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi || strconv.Itoa(n) != v {
		return validationError("The value of attribute '%s' must be an integer from %d to %d, not '%s'", key, lo, hi, v)
	}
	return nil
}

func checkOffOrIntAttr(key, v string, lo, hi int) error {
	if v == attrValueOff {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi || strconv.Itoa(n) != v {
		return validationError("The value of attribute '%s' must be 'off' or an integer from %d to %d, not '%s'", key, lo, hi, v)
	}
	return nil
}

// onlyDefaultTGAttr accepts only the default value of a target group
// attribute whose other values privlink does not implement: the
// target_group_health.* minimums, which privlink behaves as with their
// defaults (a zone is healthy with 1 healthy target; no percentage).
// Terraform sends the defaults, so they must keep working.
func onlyDefaultTGAttr(key, v string) error {
	if def := defaultTargetGroupAttributes()[key]; v != def {
		return unsupportedAttrValue(key, v, def)
	}
	return nil
}

// checkTargetGroupAttribute validates one attribute of a TCP target group.
func checkTargetGroupAttribute(key, v string) error {
	switch key {
	case model.AttrDeregistrationDelay:
		return checkIntAttr(key, v, 0, maxDeregistrationDelaySeconds)
	case model.AttrConnTermOnDeregistration, model.AttrProxyProtocolV2, model.AttrStickinessEnabled, model.AttrUnhealthyConnTerm:
		return checkBoolAttr(key, v)
	case model.AttrPreserveClientIP:
		if err := checkBoolAttr(key, v); err != nil {
			return err
		}
		if v == "true" {
			return elbError(codeInvalidConfigurationRequest, "privlink does not preserve client IP addresses: targets see the load balancer node's address; use proxy_protocol_v2.enabled to learn the client's")
		}
		return nil
	case model.AttrStickinessType:
		if v != stickinessTypeSourceIP {
			return validationError("Stickiness type '%s' is not supported for target groups with the TCP protocol", v)
		}
		return nil
	case model.AttrCrossZone:
		if v != "true" && v != "false" && v != crossZoneUseLoadBalancer {
			return validationError("The value of attribute '%s' must be 'true', 'false' or '%s', not '%s'", key, crossZoneUseLoadBalancer, v)
		}
		return nil
	case model.AttrUnhealthyDraining:
		return checkIntAttr(key, v, 0, maxUnhealthyDrainingIntervalSecs)
	case attrDNSFailoverCount:
		if err := checkOffOrIntAttr(key, v, 1, maxTargetsPerGroup); err != nil {
			return err
		}
		return onlyDefaultTGAttr(key, v)
	case attrUnhealthyRoutingCount:
		if err := checkIntAttr(key, v, 1, maxTargetsPerGroup); err != nil {
			return err
		}
		return onlyDefaultTGAttr(key, v)
	case attrDNSFailoverPercentage, attrUnhealthyRoutingPercent:
		if err := checkOffOrIntAttr(key, v, 1, 100); err != nil {
			return err
		}
		return onlyDefaultTGAttr(key, v)
	default:
		return validationError("Target group attribute key '%s' is not recognized", key)
	}
}

// ModifyTargetGroupAttributes sets the given attributes, all or none: every
// key and value is checked before anything changes. It returns every
// attribute, sorted by key.
func (s *Service) ModifyTargetGroupAttributes(ctx context.Context, account string, in ModifyTargetGroupAttributesInput) ([]TargetGroupAttribute, error) {
	var out []TargetGroupAttribute
	err := s.update(ctx, false, func(tx store.Tx) error {
		tg, err := s.loadTargetGroup(tx, account, in.TargetGroupARN)
		if err != nil {
			return err
		}
		if len(in.Attributes) == 0 {
			return validationError("At least one attribute must be specified")
		}
		attrs := defaultTargetGroupAttributes()
		for k, v := range tg.Attributes {
			attrs[k] = v
		}
		for _, a := range in.Attributes {
			if err := checkTargetGroupAttribute(a.Key, a.Value); err != nil {
				return err
			}
			attrs[a.Key] = a.Value
		}
		if attrs[model.AttrUnhealthyDraining] != "0" && attrs[model.AttrUnhealthyConnTerm] == "true" {
			return elbError(codeInvalidConfigurationRequest, "'%s' can only be set when '%s' is false", model.AttrUnhealthyDraining, model.AttrUnhealthyConnTerm)
		}
		tg.Attributes = attrs
		s.purgeGoneTargets(tg)
		if err := s.putTargetGroup(tx, account, tg); err != nil {
			return err
		}
		out = attributesOut(attrs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
