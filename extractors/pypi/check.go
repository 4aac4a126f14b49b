package pypi

import (
	"context"

	"github.com/quarrydev/quarry/extractors"
)

// Check reports which backend a run would use, and why, without querying
// anything (a BigQuery dry run costs nothing but needs the dataset's
// permissions; pypistats needs no credentials).
func (e *Extractor) Check(_ context.Context, env extractors.Env) []extractors.Finding {
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	setting, _ := env.Settings["backend"].(string)
	if setting == "" {
		setting = backendAuto
	}
	backend, reason, err := chooseBackend(setting, getenv)
	if err != nil {
		return []extractors.Finding{{OK: false, Text: err.Error()}}
	}
	return []extractors.Finding{{OK: true, Text: "backend " + backend + ": " + reason}}
}
