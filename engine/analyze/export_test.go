package analyze

import (
	"bytes"
	"encoding/gob"
)

// OnDescribe returns opts calling f with the unique id of each statement
// described, rather than taken from the cache.
func OnDescribe(opts Options, f func(id string)) Options {
	opts.onDescribe = f
	return opts
}

// WithFormat rewrites a cache file as if written with another format
// version.
func WithFormat(src []byte, format int) string {
	var f cacheFile
	if err := gob.NewDecoder(bytes.NewReader(src)).Decode(&f); err != nil {
		panic(err)
	}
	f.Format = format
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(f); err != nil {
		panic(err)
	}
	return buf.String()
}
