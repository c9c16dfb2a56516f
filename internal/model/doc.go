// Package model holds privlink's pure resource types: ids, CIDR arithmetic,
// the stored form of every resource and their state names. It does no I/O and
// imports nothing from privlink.
package model
