package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Client talks to a daemon's admin socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the admin socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}
	return &Client{socket: path, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// CreateAccount creates an account with its first access key.
func (c *Client) CreateAccount(ctx context.Context, name string) (CreatedAccount, error) {
	var out CreatedAccount
	err := c.do(ctx, http.MethodPost, pathAccounts, CreateAccountRequest{Name: name}, &out)
	return out, err
}

// ListAccounts lists every account.
func (c *Client) ListAccounts(ctx context.Context) ([]Account, error) {
	var out []Account
	err := c.do(ctx, http.MethodGet, pathAccounts, nil, &out)
	return out, err
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var out Status
	err := c.do(ctx, http.MethodGet, pathStatus, nil, &out)
	return out, err
}

// ConsoleOutput returns an instance's console log.
func (c *Client) ConsoleOutput(ctx context.Context, instanceID string) (ConsoleOutput, error) {
	var out ConsoleOutput
	err := c.do(ctx, http.MethodGet, strings.Replace(pathConsole, "{id}", url.PathEscape(instanceID), 1), nil, &out)
	return out, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	// The host is a placeholder: the transport always dials the socket.
	req, err := http.NewRequestWithContext(ctx, method, "http://privlink"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.dialError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("privlink daemon: %s", e.Error)
		}
		return fmt.Errorf("privlink daemon: %s %s: %s", method, path, resp.Status)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// dialError explains a failure to reach the daemon.
func (c *Client) dialError(err error) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return fmt.Errorf("privlink daemon at %s: %w", c.socket, err)
	}
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach privlink daemon at %s: is `privlink server` running?", c.socket)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("cannot reach privlink daemon at %s: permission denied (the admin socket is for root only)", c.socket)
	}
	return fmt.Errorf("cannot reach privlink daemon at %s: %w", c.socket, err)
}
