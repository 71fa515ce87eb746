// Command nodeagent is the one program of pullcheck's node-agent DaemonSet, which runs commands on
// the nodes of clusters pullcheck did not create. Its pod is privileged and shares the node's PID
// namespace (hostPID), so /proc/1 is the node's init.
//
//	nodeagent [sleep]          the container's main process: waits for SIGTERM or SIGINT, exits 0
//	nodeagent run -- ARGV...   enters the namespaces of the node's PID 1 and execs ARGV there
//	nodeagent serve [--remove PATH]
//	                           runs commands sent as frames on stdin, answers on stdout (serve.go)
//
// `run` does what `nsenter --target 1 --mount --uts --ipc --net --cgroup` does, in Go: the command
// sees the node's filesystem, hostname, network and cgroups, finds its executable on the node's
// PATH, and inherits stdin, stdout and stderr, so its exit status is the exec session's. A failure
// of nodeagent itself exits 126 (or 127 when ARGV[0] is not on the node) with a "nodeagent:" message.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
)

// nodePath is the PATH commands get on the node (what a root login shell has on common distros).
const nodePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// namespace is one of /proc/<pid>/ns/*, in the order nsenter joins them: the mount namespace last,
// because joining it changes what /proc is.
type namespace struct {
	name string
	flag int
}

var namespaces = []namespace{
	{"cgroup", syscall.CLONE_NEWCGROUP},
	{"ipc", syscall.CLONE_NEWIPC},
	{"uts", syscall.CLONE_NEWUTS},
	{"net", syscall.CLONE_NEWNET},
	{"mnt", syscall.CLONE_NEWNS},
}

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 0 || (len(args) == 1 && args[0] == "sleep"):
		sleep()
	case args[0] == "run":
		argv := args[1:]
		if len(argv) > 0 && argv[0] == "--" {
			argv = argv[1:]
		}
		if len(argv) == 0 {
			fail(2, "usage: nodeagent run -- COMMAND [ARG...]")
		}
		enterNodeAndExec(argv)
	case args[0] == "serve":
		self := ""
		if len(args) == 3 && args[1] == "--remove" {
			self = args[2]
		} else if len(args) != 1 {
			fail(2, "usage: nodeagent serve [--remove PATH]")
		}
		serve(self)
	default:
		fail(2, "usage: nodeagent [sleep] | nodeagent run -- COMMAND [ARG...] | nodeagent serve [--remove PATH]")
	}
}

// sleep holds the pod until the kubelet stops it; the agent does its work in exec sessions.
func sleep() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
}

// enterNodeAndExec never returns: it replaces this process with argv, or exits with a failure.
//
// The Go runtime runs every program on several threads that share one set of filesystem attributes
// (root, cwd, umask: CLONE_FS), and the kernel lets only a thread that shares them with nobody join a
// mount namespace (setns fails with EINVAL otherwise). So this goroutine is locked to its thread,
// that thread gets its own filesystem attributes (unshare CLONE_FS), joins the namespaces, and
// calls execve, which keeps the calling thread's namespaces and ends all the others.
func enterNodeAndExec(argv []string) {
	runtime.LockOSThread() // never unlocked: this thread execs or the process exits
	checkHostPID()
	if err := syscall.Unshare(syscall.CLONE_FS); err != nil {
		fail(126, "unshare(CLONE_FS): %v", err)
	}
	// Open every namespace first: /proc/1/ns/* of the node stays reachable whatever is joined.
	fds := make([]int, len(namespaces))
	for i, ns := range namespaces {
		fds[i] = -1
		same, err := sameNamespace(ns.name)
		if err != nil {
			fail(126, "%v", err)
		}
		if same {
			continue
		}
		fd, err := syscall.Open("/proc/1/ns/"+ns.name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			fail(126, "open the node's %s namespace: %v", ns.name, err)
		}
		fds[i] = fd
	}
	for i, ns := range namespaces {
		if fds[i] < 0 {
			continue
		}
		if _, _, errno := syscall.RawSyscall(sysSetns, uintptr(fds[i]), uintptr(ns.flag), 0); errno != 0 {
			fail(126, "setns into the node's %s namespace: %v", ns.name, errno)
		}
		syscall.Close(fds[i])
	}
	// Joining a mount namespace already moved root and cwd to its root; say so explicitly anyway.
	if err := syscall.Chdir("/"); err != nil {
		fail(126, "chdir /: %v", err)
	}
	path, err := lookPath(argv[0])
	if err != nil {
		fail(127, "%v", err)
	}
	env := []string{"PATH=" + nodePath, "HOME=/root", "LANG=C.UTF-8"}
	err = syscall.Exec(path, argv, env)
	fail(126, "exec %s: %v", path, err)
}

// checkHostPID refuses to run when PID 1 is this program's own main process: the pod then has its
// own PID namespace and "entering PID 1" would leave the command inside the container.
func checkHostPID() {
	comm, err := os.ReadFile("/proc/1/comm")
	if err != nil {
		fail(126, "reading /proc/1/comm: %v", err)
	}
	if strings.TrimSpace(string(comm)) == "nodeagent" {
		fail(126, "PID 1 is nodeagent itself: the pod needs hostPID: true")
	}
}

// sameNamespace reports whether this process is already in PID 1's namespace of that kind (hostIPC,
// hostNetwork), in which case there is nothing to join.
func sameNamespace(name string) (bool, error) {
	mine, err := os.Readlink("/proc/self/ns/" + name)
	if err != nil {
		return false, fmt.Errorf("reading /proc/self/ns/%s: %w", name, err)
	}
	node, err := os.Readlink("/proc/1/ns/" + name)
	if err != nil {
		return false, fmt.Errorf("reading the node's /proc/1/ns/%s: %w", name, err)
	}
	return mine == node, nil
}

// lookPath resolves a command name on the node's PATH (after the mount namespace is joined).
func lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return name, nil
	}
	for _, dir := range strings.Split(nodePath, ":") {
		candidate := dir + "/" + name
		if executable(candidate) == nil {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("%s: not found on the node's PATH (%s)", name, nodePath)
}

func executable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		return fmt.Errorf("not an executable file")
	}
	return nil
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "nodeagent: "+format+"\n", args...)
	os.Exit(code)
}
