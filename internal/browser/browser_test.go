package browser

import (
	"fmt"
	"strings"
	"testing"
)

// recordingTB records how Unavailable reports instead of ending the test.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper()                           {}
func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recordingTB) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

func TestUnavailableFailsOnlyInCI(t *testing.T) {
	t.Setenv("QUARRY_CHROME", "/nonexistent/chromium")
	_, err := Find()
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/chromium") {
		t.Fatalf("Find with QUARRY_CHROME naming no file: %v, want an error naming it", err)
	}
	t.Setenv("CI", "true")
	r := &recordingTB{TB: t}
	Unavailable(r, err)
	if r.skip != "" || !strings.Contains(r.fatal, "required when CI=true") || !strings.Contains(r.fatal, err.Error()) {
		t.Errorf("CI=true: fatal %q, skip %q", r.fatal, r.skip)
	}
	t.Setenv("CI", "")
	r = &recordingTB{TB: t}
	Unavailable(r, err)
	if r.fatal != "" || !strings.Contains(r.skip, err.Error()) || !strings.Contains(r.skip, InstallHint) {
		t.Errorf("outside CI: fatal %q, skip %q", r.fatal, r.skip)
	}
}
