//go:build !unix

package fakesnow

import "os/exec"

// Without process groups, only the emulator's own process is stopped.
func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

// lockFile does not lock here: concurrent first installs from several test
// binaries may collide, which a rerun resolves.
func lockFile(string) (func(), error) { return func() {}, nil }
