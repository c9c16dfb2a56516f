package forwarder

// result is the outcome of one health check attempt: a pass when reason
// is FailNone.
type result struct {
	reason FailReason
	code   int   // the HTTP status, for FailMismatch
	err    error // why it failed, for the debug log
}

// status is a check's state machine: its state and the passes and failures
// in a row that move it.
type status struct {
	state  HealthState
	reason FailReason
	code   int
	passes int // in a row, capped at the healthy threshold
	fails  int // in a row, capped at the unhealthy threshold
}

// observe records one attempt's result with the check's thresholds (below 1
// counts as 1) and reports whether the Health it shows changed: a new
// state, or a new reason or code while unhealthy.
//
// A check starts Initial. HealthyThreshold passes in a row make it Healthy,
// from Initial or Unhealthy; UnhealthyThreshold failures in a row make it
// Unhealthy, from Initial or Healthy.
func (s *status) observe(r result, healthyThreshold, unhealthyThreshold int) bool {
	healthyThreshold = max(healthyThreshold, 1)
	unhealthyThreshold = max(unhealthyThreshold, 1)
	if r.reason == FailNone {
		s.fails = 0
		s.passes = min(s.passes+1, healthyThreshold)
		if s.state != StateHealthy && s.passes >= healthyThreshold {
			s.state, s.reason, s.code = StateHealthy, FailNone, 0
			return true
		}
		return false
	}
	code := 0
	if r.reason == FailMismatch {
		code = r.code
	}
	s.passes = 0
	s.fails = min(s.fails+1, unhealthyThreshold)
	switch {
	case s.state == StateUnhealthy:
		if s.reason == r.reason && s.code == code {
			return false
		}
	case s.fails < unhealthyThreshold:
		return false
	}
	s.state, s.reason, s.code = StateUnhealthy, r.reason, code
	return true
}

// health returns the Health of the check key in this state.
func (s *status) health(key string) Health {
	h := Health{Key: key, State: s.state}
	if s.state == StateUnhealthy {
		h.Reason, h.Code = s.reason, s.code
	}
	return h
}
