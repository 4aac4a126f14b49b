package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// retentionKillVar names the test hook that kills quarry mid-compaction:
// QUARRY_TEST_RETENTION_KILL=TABLE:N sends SIGKILL to the process right
// after statement N (from 0) of TABLE's retention transaction, before its
// commit. It is honoured only in a test binary (testing.Testing), so that
// the end-to-end tests can prove a kill leaves the previous state; a
// released quarry ignores it.
const retentionKillVar = "QUARRY_TEST_RETENTION_KILL"

// retentionTestHook returns run.Options.RetentionStep for the hook, or nil
// when it is not set or this is not a test binary.
func retentionTestHook(env func(string) (string, bool)) (func(table string, i int) error, error) {
	v, ok := env(retentionKillVar)
	if !ok || v == "" || !testing.Testing() {
		return nil, nil
	}
	table, at, found := strings.Cut(v, ":")
	n, err := strconv.Atoi(at)
	if !found || err != nil {
		return nil, fmt.Errorf("%s=%q: want TABLE:STATEMENT, e.g. github_repositories:2", retentionKillVar, v)
	}
	return func(t string, i int) error {
		if t == table && i == n {
			// Process.Kill is SIGKILL on Unix: no deferred call, no
			// rollback, no close of the database runs.
			p, err := os.FindProcess(os.Getpid())
			if err == nil {
				err = p.Kill()
			}
			if err == nil {
				select {} // the signal is on its way
			}
			return fmt.Errorf("%s: kill: %w", retentionKillVar, err)
		}
		return nil
	}, nil
}
