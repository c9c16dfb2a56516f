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
