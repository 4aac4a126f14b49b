// Package render owns what turns a template file into text, apart from
// any project: the function set every template sees (sprig's hermetic map
// and quarry's checked generators), the render budget (bytes, time,
// nesting depth) and the instrumentation that enforces it, parsing a file
// into trees, finding a call or a function in them by position, and
// turning text/template's errors into positioned diagnostics.
//
// What a function means for one node (ref, source, config, var, env_var)
// is bound by engine/project, which owns the nodes.
package render
