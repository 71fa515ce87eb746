// Command pause is the pod sandbox's only process: it holds the pod's namespaces open, reaps
// orphans, and exits on SIGINT or SIGTERM. pullcheck builds it because no pause image can be pulled.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	// Upstream pause prints its version for -v and exits: kubeadm's upgrade health check runs it so
	// as a Job and waits for that Job to complete.
	if len(os.Args) > 1 && strings.EqualFold(os.Args[1], "-v") {
		fmt.Println("pause (pullcheck)")
		return
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		reapChildren()
	}
}

func reapChildren() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
