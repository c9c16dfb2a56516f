package model

import (
	"fmt"
	"strings"
)

// Zone is an availability zone of the region this daemon serves.
type Zone struct {
	Name string // "us-east-1a"
	ID   string // "use1-az1"
}

var directionCodes = map[string]string{
	"east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
	"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}

// RegionShortCode turns "us-east-1" into "use1", as AZ ids spell it.
func RegionShortCode(region string) (string, error) {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return "", fmt.Errorf("region %q: want <area>-<direction>-<number>", region)
	}
	dir, ok := directionCodes[parts[1]]
	if !ok {
		return "", fmt.Errorf("region %q: unknown direction %q", region, parts[1])
	}
	return parts[0] + dir + parts[2], nil
}

// Zones builds the zones of region from suffix letters ("a", "b", "c"). A
// suffix may also be a full zone name ("us-east-1a"). Zone ids are numbered
// by letter (a → az1), the same for every account.
func Zones(region string, suffixes []string) ([]Zone, error) {
	code, err := RegionShortCode(region)
	if err != nil {
		return nil, err
	}
	var zones []Zone
	seen := map[string]bool{}
	for _, s := range suffixes {
		s = strings.TrimPrefix(strings.TrimSpace(s), region)
		if len(s) != 1 || s[0] < 'a' || s[0] > 'z' {
			return nil, fmt.Errorf("zone %q: want a letter a-z or %s<letter>", s, region)
		}
		if seen[s] {
			return nil, fmt.Errorf("zone %s%s listed twice", region, s)
		}
		seen[s] = true
		zones = append(zones, Zone{Name: region + s, ID: fmt.Sprintf("%s-az%d", code, s[0]-'a'+1)})
	}
	if len(zones) == 0 {
		return nil, fmt.Errorf("no zones for region %s", region)
	}
	return zones, nil
}
