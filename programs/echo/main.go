// Command echo is the executable of every pullcheck test image. With arguments it prints them (so
// `command: ["echo", "SUCCESS"]` from the Kubernetes docs works); without, it prints SUCCESS. Then it
// prints a marker line naming the platform it was built for and the image's build id, which is how a
// scenario proves which image, and which platform manifest of an index, a node really ran.
package main

import (
	"fmt"
	"os"
	"strings"
)

// platform is set with -ldflags -X at build time: one binary per platform.
var platform = "unknown"

// buildIDFile is written into each image's own layer, so that every image has its own digest
// while all of them share one binary per platform.
const buildIDFile = "/etc/pullcheck/build-id"

// terminationLog is where Kubernetes reads a container's termination message by default
// (terminationMessagePath); outside Kubernetes writing it changes nothing.
const terminationLog = "/dev/termination-log"

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		args = []string{"SUCCESS"}
	}
	fmt.Println(strings.Join(args, " "))
	buildID := "none"
	if b, err := os.ReadFile(buildIDFile); err == nil {
		buildID = strings.TrimSpace(string(b))
	}
	marker := fmt.Sprintf("pullcheck-marker platform=%s build=%s", platform, buildID)
	fmt.Println(marker)
	// The marker also goes to the termination message, which kubelet reads from this file itself:
	// a scenario can still prove which image ran when the runtime kept none of the output.
	_ = os.WriteFile(terminationLog, []byte(marker+"\n"), 0o644)
}
