// Package english holds the wording shared by the engine's messages and
// the command's output, so that both count things the same way.
package english

// Plural returns one when n is 1 and many otherwise, as in "1 row" and
// "0 rows".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
