package model

import "testing"

func TestPrivateDNSName(t *testing.T) {
	tests := []struct{ region, ip, want string }{
		{"us-east-1", "10.0.1.5", "ip-10-0-1-5.ec2.internal"},
		{"eu-west-1", "10.0.1.5", "ip-10-0-1-5.eu-west-1.compute.internal"},
		{"us-west-2", "172.31.63.109", "ip-172-31-63-109.us-west-2.compute.internal"},
		{"us-east-1", "", ""},
		{"us-east-1", "fd00::1", ""},
	}
	for _, tt := range tests {
		if got := PrivateDNSName(tt.region, tt.ip); got != tt.want {
			t.Errorf("PrivateDNSName(%q, %q) = %q, want %q", tt.region, tt.ip, got, tt.want)
		}
	}
}
