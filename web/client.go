package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/url"
	"syscall"
)

// ErrNoDaemon means nothing answers on the socket: no daemon runs for
// that state directory.
var ErrNoDaemon = errors.New("no SunOye daemon is running")

// APIError is an error answer of the API.
type APIError struct {
	Status int
	ErrorJSON
}

func (e *APIError) Error() string { return e.ErrorJSON.Error }

// Client talks to a daemon's local API over its unix socket (on Windows,
// its named pipe; see Server.ServeLocal).
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the daemon listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialLocal(ctx, socket)
		},
	}
	return &Client{socket: socket, hc: &http.Client{Transport: tr}}
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (StatusJSON, error) {
	var out StatusJSON
	return out, c.do(ctx, http.MethodGet, "/v1/status", nil, &out)
}

// Rooms lists the joined rooms.
func (c *Client) Rooms(ctx context.Context) ([]RoomJSON, error) {
	var out []RoomJSON
	return out, c.do(ctx, http.MethodGet, "/v1/rooms", nil, &out)
}

// Room returns one joined room with its member list.
func (c *Client) Room(ctx context.Context, room string) (RoomJSON, error) {
	var out RoomJSON
	return out, c.do(ctx, http.MethodGet, "/v1/rooms/"+url.PathEscape(room), nil, &out)
}

// Create creates a room with password, or a generated one if it is empty.
func (c *Client) Create(ctx context.Context, password string) (InviteJSON, error) {
	return c.CreateWith(ctx, CreateRequest{Password: password})
}

// CreateWith creates a room as req asks.
func (c *Client) CreateWith(ctx context.Context, req CreateRequest) (InviteJSON, error) {
	var out InviteJSON
	return out, c.do(ctx, http.MethodPost, "/v1/rooms", req, &out)
}

// Join joins a room.
func (c *Client) Join(ctx context.Context, room, password string) (RoomJSON, error) {
	var out RoomJSON
	return out, c.do(ctx, http.MethodPost, "/v1/rooms/"+url.PathEscape(room)+"/join", JoinRequest{Password: password}, &out)
}

// Leave leaves a room.
func (c *Client) Leave(ctx context.Context, room string) error {
	return c.do(ctx, http.MethodDelete, "/v1/rooms/"+url.PathEscape(room), nil, nil)
}

// Send sends a message.
func (c *Client) Send(ctx context.Context, room, text string) (MessageJSON, error) {
	var out MessageJSON
	return out, c.do(ctx, http.MethodPost, "/v1/rooms/"+url.PathEscape(room)+"/messages", SendRequest{Text: text}, &out)
}

// History returns a room's messages kept by the daemon.
func (c *Client) History(ctx context.Context, room string) ([]MessageJSON, error) {
	var out []MessageJSON
	return out, c.do(ctx, http.MethodGet, "/v1/rooms/"+url.PathEscape(room)+"/messages", nil, &out)
}

// SetMuted mutes or unmutes a room.
func (c *Client) SetMuted(ctx context.Context, room string, on bool) error {
	return c.do(ctx, http.MethodPost, "/v1/rooms/"+url.PathEscape(room)+"/mute", ToggleRequest{On: on}, nil)
}

// SetNotify sets a room's notification level: "all", "mentions" or "none".
func (c *Client) SetNotify(ctx context.Context, room, level string) error {
	return c.do(ctx, http.MethodPost, "/v1/rooms/"+url.PathEscape(room)+"/notify", NotifyRequest{Level: level}, nil)
}

// SetDoNotDisturb turns notifications off or on.
func (c *Client) SetDoNotDisturb(ctx context.Context, on bool) error {
	return c.do(ctx, http.MethodPost, "/v1/dnd", ToggleRequest{On: on}, nil)
}

// Invite returns a room's invite, if the daemon knows its password.
func (c *Client) Invite(ctx context.Context, room string) (InviteJSON, error) {
	var out InviteJSON
	return out, c.do(ctx, http.MethodGet, "/v1/rooms/"+url.PathEscape(room)+"/invite", nil, &out)
}

// Follow calls fn for each message of a room, the history first and then
// live ones, until ctx ends, the room is left, or fn returns an error. It
// marks the room read as it goes.
func (c *Client) Follow(ctx context.Context, room string, fn func(MessageJSON) error) error {
	resp, err := c.request(ctx, http.MethodGet, "/v1/rooms/"+url.PathEscape(room)+"/messages?follow=1&read=1", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m MessageJSON
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("read message stream: %w", err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read message stream: %w", err)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.request(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	return nil
}

func (c *Client) request(ctx context.Context, method, path string, in any) (*http.Response, error) {
	if in == nil {
		return c.send(ctx, method, path, nil, "")
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, method, path, bytes.NewReader(b), "application/json")
}

// send makes a request with body, of type ctype, and returns its answer,
// or the API's error.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://sunoye"+path, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w (no socket answers at %s)", ErrNoDaemon, c.socket)
		}
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		e := &APIError{Status: resp.StatusCode}
		if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e.ErrorJSON) != nil || e.ErrorJSON.Error == "" {
			e.ErrorJSON = ErrorJSON{Error: resp.Status, Code: CodeInternal}
		}
		return nil, e
	}
	return resp, nil
}

// SendFile sends data as a file named name, with the caption text (may
// be empty).
func (c *Client) SendFile(ctx context.Context, room, name string, data []byte, text string) (MessageJSON, error) {
	q := url.Values{"name": {name}}
	if text != "" {
		q.Set("text", text)
	}
	resp, err := c.send(ctx, http.MethodPost, "/v1/rooms/"+url.PathEscape(room)+"/files?"+q.Encode(), bytes.NewReader(data), "application/octet-stream")
	if err != nil {
		return MessageJSON{}, err
	}
	defer resp.Body.Close()
	var out MessageJSON
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return MessageJSON{}, fmt.Errorf("read answer of send file: %w", err)
	}
	return out, nil
}

// File returns the file of message msg in room: its name as the daemon
// made it safe to save under, and its bytes (the caller closes them).
func (c *Client) File(ctx context.Context, room, msg string) (name string, body io.ReadCloser, err error) {
	resp, err := c.send(ctx, http.MethodGet, "/v1/rooms/"+url.PathEscape(room)+"/files/"+url.PathEscape(msg)+"?download=1", nil, "")
	if err != nil {
		return "", nil, err
	}
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || params["filename"] == "" {
		resp.Body.Close()
		return "", nil, fmt.Errorf("read answer of get file: no file name (%v)", err)
	}
	return params["filename"], resp.Body, nil
}
