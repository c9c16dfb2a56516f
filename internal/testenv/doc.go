// Package testenv holds helpers for privlink's tests: the gate for
// privileged tests (RequirePrivileged), unique throwaway names for the
// namespaces a test creates (Prefix) with their cleanup, and a polling helper
// with a deadline (WaitFor) so that no test sleeps to wait.
//
// It is imported by tests only. It must not import any other privlink
// package, so that every package's in-package tests can use it.
package testenv
