package main

// `nodeagent serve` runs many commands over one exec session: each `docker exec` costs a runc exec,
// a shim round trip and the daemon's bookkeeping, a command started here costs a fork and an exec.
//
// Frames both ways are a 4-byte big-endian length and a JSON object. The first frame out is
// {"id":0,"ready":true}; then for each request {"id":N,"argv":[...],"stdin":"<base64>"} one answer
// {"id":N,"stdout":"<base64>","stderr":"<base64>","exit":CODE}, in the order commands end, not the
// order they came. Commands get this process's environment and working directory: those of the exec
// session, as a `docker exec` of their own would. The end of stdin ends the server.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// maxFrame bounds a request: commands' input is files and configs, not images (those stream per exec).
const maxFrame = 64 << 20

type request struct {
	ID    uint64   `json:"id"`
	Argv  []string `json:"argv"`
	Stdin []byte   `json:"stdin,omitempty"`
}

type answer struct {
	ID     uint64 `json:"id"`
	Ready  bool   `json:"ready,omitempty"`
	Stdout []byte `json:"stdout,omitempty"`
	Stderr []byte `json:"stderr,omitempty"`
	Exit   int    `json:"exit"`
}

// serve removes `self` first (the file its client wrote to start it), so that nothing of it stays
// on the node once it runs, however the session ends.
func serve(self string) {
	if self != "" {
		if err := os.Remove(self); err != nil && !errors.Is(err, os.ErrNotExist) {
			fail(126, "removing %s: %v", self, err)
		}
	}
	out := &frameWriter{w: bufio.NewWriter(os.Stdout)}
	out.write(answer{ID: 0, Ready: true})
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	var running sync.WaitGroup
	for {
		var req request
		if err := readFrame(in, &req); err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(os.Stderr, "nodeagent serve: %v\n", err)
			}
			return
		}
		running.Add(1)
		go func() {
			defer running.Done()
			out.write(runOne(req))
		}()
	}
}

// runOne answers as `docker exec` would: a program that cannot be started exits 126 with runc's
// words for it on stdout.
func runOne(req request) answer {
	if len(req.Argv) == 0 {
		return answer{ID: req.ID, Exit: 126, Stderr: []byte("nodeagent serve: empty argv")}
	}
	path, err := exec.LookPath(req.Argv[0])
	if err != nil {
		return notStarted(req, "executable file not found in $PATH")
	}
	cmd := exec.Command(path, req.Argv[1:]...)
	cmd.Args[0] = req.Argv[0]
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if req.Stdin != nil {
		cmd.Stdin = bytes.NewReader(req.Stdin)
	}
	err = cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal()) // killed by a signal: what a shell reports
		}
	default:
		return notStarted(req, err.Error())
	}
	return answer{ID: req.ID, Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Exit: code}
}

func notStarted(req request, why string) answer {
	msg := fmt.Sprintf("OCI runtime exec failed: exec failed: unable to start container process: exec: %q: %s: unknown", req.Argv[0], why)
	return answer{ID: req.ID, Exit: 126, Stdout: []byte(msg)}
}

func readFrame(r *bufio.Reader, v any) error {
	var size uint32
	if err := binary.Read(r, binary.BigEndian, &size); err != nil {
		return err
	}
	if size > maxFrame {
		return fmt.Errorf("a frame of %d bytes (at most %d)", size, maxFrame)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return fmt.Errorf("a frame cut short: %w", err)
	}
	return json.Unmarshal(buf, v)
}

type frameWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (f *frameWriter) write(a answer) {
	data, err := json.Marshal(a)
	if err != nil {
		fail(126, "encoding an answer: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], uint32(len(data)))
	f.w.Write(size[:])
	f.w.Write(data)
	if err := f.w.Flush(); err != nil {
		// The client is gone: nobody reads answers any more.
		os.Exit(0)
	}
}
