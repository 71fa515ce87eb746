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
	fmt.Printf("pullcheck-marker platform=%s build=%s\n", platform, buildID)
}
