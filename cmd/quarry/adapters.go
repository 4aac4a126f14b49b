package main

import (
	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/extractors"
	"github.com/quarrydev/quarry/extractors/github"
	"github.com/quarrydev/quarry/extractors/pypi"
	"github.com/quarrydev/quarry/internal/targets"
)

// adapters lists the warehouses this binary can build into.
func adapters() map[string]config.Adapter { return targets.Adapters() }

// extractorRegistry lists the extractors this binary can run.
func extractorRegistry() map[string]extractors.Factory {
	return map[string]extractors.Factory{
		github.ExtractorName: func() extractors.Extractor { return github.New() },
		pypi.Name:            pypi.Factory,
	}
}
