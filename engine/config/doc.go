// Package config owns what project.yaml says and the settings of one node,
// apart from the nodes themselves: the command-line Options that shape
// loading, the targets and the chosen one (with the Adapter of its
// warehouse) and the thread count, the models: folder defaults, the seeds:,
// tests: and extractors: blocks, and Node, the config keys a model, seed or
// test accepts and how each is validated. It also holds the YAML helpers
// every file of a project is read with, so that their diagnostics read the
// same.
//
// It knows nothing of nodes, files other than project.yaml, or running:
// engine/project builds on it.
package config
