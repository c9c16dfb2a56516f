package controller

import (
	"strings"

	"github.com/privlink/privlink/internal/forwarder"
	"github.com/privlink/privlink/internal/metrics"
)

// endpointLabels are the dimensions of one endpoint listener's traffic, as
// AWS's AWS/PrivateLinkEndpoints (endpoint, service name, VPC, subnet) and
// AWS/PrivateLinkServices (service, load balancer, zone) metrics name them.
type endpointLabels struct {
	endpointID, serviceName, vpcID, subnetID string
	serviceID, lbARN, zone                   string
}

func (l endpointLabels) endpoint() []string {
	return []string{l.endpointID, l.serviceName, l.vpcID, l.subnetID}
}

func (l endpointLabels) service() []string { return []string{l.serviceID, l.lbARN, l.zone} }

// serviceLB is a service's load balancer, the key of EndpointsCount.
type serviceLB struct{ serviceID, lbARN string }

// privateLinkMetrics exports the forwarder's counters of endpoint listeners
// per endpoint and per service. The forwarder counts per listener; a pass
// adds what each listener counted since the previous pass. A listener that
// went away between two passes loses what it counted in between. Series
// exist while their subject carries traffic: an endpoint's while it has
// listeners, a service zone's while some endpoint listener forwards to it,
// and EndpointsCount while the service exists. Then they are deleted, as
// CloudWatch stops publishing the metrics of what is gone.
type privateLinkMetrics struct {
	epBytes, epNew, epRst    *metrics.Counter
	epActive                 *metrics.Gauge
	svcBytes, svcNew, svcRst *metrics.Counter
	svcActive, svcEndpoints  *metrics.Gauge
	last                     map[string]forwarder.ListenerStats
	lastEp, lastSvc          map[string][]string // label values of the live series, by joined labels
	lastEndpoints            map[serviceLB]int   // the endpoints counts set last time
}

func newPrivateLinkMetrics(reg *metrics.Registry) *privateLinkMetrics {
	ep := []string{"vpc_endpoint_id", "service_name", "vpc_id", "subnet_id"}
	svc := []string{"service_id", "load_balancer_arn", "az"}
	return &privateLinkMetrics{
		epBytes:   reg.Counter("privlink_endpoint_bytes_processed_total", "Bytes through interface endpoints, both directions (AWS/PrivateLinkEndpoints BytesProcessed).", ep...),
		epNew:     reg.Counter("privlink_endpoint_new_connections_total", "Connections through interface endpoints (AWS/PrivateLinkEndpoints NewConnections).", ep...),
		epRst:     reg.Counter("privlink_endpoint_rst_packets_received_total", "Connections through interface endpoints that ended in a reset (AWS/PrivateLinkEndpoints RstPacketsReceived).", ep...),
		epActive:  reg.Gauge("privlink_endpoint_active_connections", "Connections through interface endpoints now (AWS/PrivateLinkEndpoints ActiveConnections).", ep...),
		svcBytes:  reg.Counter("privlink_service_bytes_processed_total", "Bytes through endpoint services, both directions (AWS/PrivateLinkServices BytesProcessed).", svc...),
		svcNew:    reg.Counter("privlink_service_new_connections_total", "Connections to endpoint services (AWS/PrivateLinkServices NewConnections).", svc...),
		svcRst:    reg.Counter("privlink_service_rst_packets_sent_total", "Connections to endpoint services that ended in a reset (AWS/PrivateLinkServices RstPacketsSent).", svc...),
		svcActive: reg.Gauge("privlink_service_active_connections", "Connections to endpoint services now (AWS/PrivateLinkServices ActiveConnections).", svc...),
		svcEndpoints: reg.Gauge("privlink_service_endpoints_count", "Endpoints connected to an endpoint service (AWS/PrivateLinkServices EndpointsCount).",
			"service_id", "load_balancer_arn"),
		last:    map[string]forwarder.ListenerStats{},
		lastEp:  map[string][]string{},
		lastSvc: map[string][]string{},
	}
}

// sync adds the counters of the endpoint listeners (labels, by listener
// key) since the last sync and sets the gauges. It deletes the series of
// the endpoints and service zones that have no listener left, and the
// endpoints counts of the services that are gone (endpoints has every
// service that exists).
func (m *privateLinkMetrics) sync(stats []forwarder.ListenerStats, labels map[string]endpointLabels, endpoints map[serviceLB]int) {
	epLive, svcLive := map[string][]string{}, map[string][]string{}
	for _, l := range labels {
		ep, svc := l.endpoint(), l.service()
		epLive[joinLabels(ep)], svcLive[joinLabels(svc)] = ep, svc
	}
	epActive, svcActive := map[string]float64{}, map[string]float64{}
	next := make(map[string]forwarder.ListenerStats, len(labels))
	for _, s := range stats {
		l, ok := labels[s.Key]
		if !ok {
			continue
		}
		next[s.Key] = s
		prev := m.last[s.Key]
		if s.NewConns < prev.NewConns || s.BytesIn < prev.BytesIn || s.BytesOut < prev.BytesOut || s.Resets < prev.Resets {
			prev = forwarder.ListenerStats{} // the listener started over
		}
		ep, svc := l.endpoint(), l.service()
		if d := float64(s.BytesIn + s.BytesOut - prev.BytesIn - prev.BytesOut); d > 0 {
			m.epBytes.Add(d, ep...)
			m.svcBytes.Add(d, svc...)
		}
		if d := float64(s.NewConns - prev.NewConns); d > 0 {
			m.epNew.Add(d, ep...)
			m.svcNew.Add(d, svc...)
		}
		if d := float64(s.Resets - prev.Resets); d > 0 {
			m.epRst.Add(d, ep...)
			m.svcRst.Add(d, svc...)
		}
		epActive[joinLabels(ep)] += float64(s.ActiveConns)
		svcActive[joinLabels(svc)] += float64(s.ActiveConns)
	}
	m.last = next
	for k, values := range epLive {
		m.epActive.Set(epActive[k], values...)
	}
	for k, values := range svcLive {
		m.svcActive.Set(svcActive[k], values...)
	}
	deleteGone(m.lastEp, epLive, m.epActive, m.epBytes, m.epNew, m.epRst)
	deleteGone(m.lastSvc, svcLive, m.svcActive, m.svcBytes, m.svcNew, m.svcRst)
	m.lastEp, m.lastSvc = epLive, svcLive
	for k := range m.lastEndpoints {
		if _, ok := endpoints[k]; !ok {
			m.svcEndpoints.Delete(k.serviceID, k.lbARN)
		}
	}
	for k, n := range endpoints {
		m.svcEndpoints.Set(float64(n), k.serviceID, k.lbARN)
	}
	m.lastEndpoints = endpoints
}

// deleteGone deletes, from g and cs, the series whose labels were in
// before but are not in now.
func deleteGone(before, now map[string][]string, g *metrics.Gauge, cs ...*metrics.Counter) {
	for k, values := range before {
		if _, ok := now[k]; ok {
			continue
		}
		g.Delete(values...)
		for _, c := range cs {
			c.Delete(values...)
		}
	}
}

func joinLabels(values []string) string { return strings.Join(values, "\x00") }
