// Package daemon wires privlink together and runs it: the store, the control
// plane, the AWS API front with /healthz and /metrics on one listener, the
// admin socket, the controller, the UserData supervisor and the VPC DNS
// server, as an errgroup of Run(ctx) components.
//
// It is the only package that may import everything. It holds no business
// rules: it builds components, connects them and shuts them down.
package daemon
