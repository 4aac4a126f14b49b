package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// addCPUProfile adds the hidden --cpuprofile flag: a CPU profile of the
// whole command, for the performance work (BENCHMARKS.md). It is hidden
// because it is a tool for quarry's developers, not part of the CLI. The
// profile is written when the command succeeds: cobra runs no post-run
// hook after a failure, and a profile of a failed load is seldom wanted.
func addCPUProfile(root *cobra.Command) {
	var path string
	var f *os.File
	root.PersistentFlags().StringVar(&path, "cpuprofile", "", "write a CPU profile of the command to this file")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if path == "" {
			return nil
		}
		var err error
		if f, err = os.Create(path); err != nil {
			return &exitError{code: exitLoad, err: fmt.Errorf("--cpuprofile: %w", err)}
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return &exitError{code: exitLoad, err: fmt.Errorf("--cpuprofile: %w", err)}
		}
		return nil
	}
	root.PersistentPostRunE = func(*cobra.Command, []string) error {
		if f == nil {
			return nil
		}
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return &exitError{code: exitFailed, err: fmt.Errorf("--cpuprofile: %w", err)}
		}
		return nil
	}
}
