package model

import (
	"testing"
	"time"
)

func TestListenerTCPIdleTimeout(t *testing.T) {
	tests := []struct {
		attrs map[string]string
		want  time.Duration
	}{
		{nil, 350 * time.Second},
		{map[string]string{ListenerAttrTCPIdleTimeout: "60"}, 60 * time.Second},
		{map[string]string{ListenerAttrTCPIdleTimeout: "6000"}, 6000 * time.Second},
		{map[string]string{ListenerAttrTCPIdleTimeout: ""}, 350 * time.Second},
		{map[string]string{ListenerAttrTCPIdleTimeout: "x"}, 350 * time.Second},
		{map[string]string{ListenerAttrTCPIdleTimeout: "0"}, 350 * time.Second},
	}
	for _, tt := range tests {
		if got := (Listener{Attributes: tt.attrs}).TCPIdleTimeout(); got != tt.want {
			t.Errorf("TCPIdleTimeout(%v) = %v, want %v", tt.attrs, got, tt.want)
		}
	}
}

func TestTargetGroupUnhealthyDrain(t *testing.T) {
	tests := []struct {
		attrs     map[string]string
		wantDrain time.Duration
		wantReset bool
	}{
		{nil, 0, true}, // AWS's defaults: reset at once
		{map[string]string{AttrUnhealthyConnTerm: "true", AttrUnhealthyDraining: "0"}, 0, true},
		{map[string]string{AttrUnhealthyConnTerm: "false", AttrUnhealthyDraining: "0"}, 0, false},
		{map[string]string{AttrUnhealthyConnTerm: "false"}, 0, false},
		{map[string]string{AttrUnhealthyConnTerm: "false", AttrUnhealthyDraining: "300"}, 300 * time.Second, true},
		{map[string]string{AttrUnhealthyConnTerm: "false", AttrUnhealthyDraining: "x"}, 0, false},
	}
	for _, tt := range tests {
		drain, reset := (TargetGroup{Attributes: tt.attrs}).UnhealthyDrain()
		if drain != tt.wantDrain || reset != tt.wantReset {
			t.Errorf("UnhealthyDrain(%v) = %v, %v; want %v, %v", tt.attrs, drain, reset, tt.wantDrain, tt.wantReset)
		}
	}
}
