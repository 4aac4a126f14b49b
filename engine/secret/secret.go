// Package secret decides which environment variables look like they hold
// secrets, and finds their values in text about to be written where a
// secret must never go: compiled SQL, the warehouse, target/.
//
// It is one rule shared by env_var, the artifact writers and anything else
// that handles environment variables, so that they all agree.
package secret

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode"
)

// shortWords look like secrets only as whole words of a name: as
// substrings they would catch innocent names (PAT in PATH, KEY in KEYBOARD,
// PASS in PASSENGER, AUTH in AUTHOR).
var shortWords = []string{
	"PASS", "PW", "PWD", "PASSCODE", "PAT", "KEY", "KEYS", "AUTH", "AUTHN", "AUTHZ", "OAUTH",
	"CRED", "CREDS", "DSN", "SALT", "CERT", "CERTS", "PEM", "JWT", "OTP",
}

// longWords look like secrets anywhere in a name, separators ignored, so
// that DBPASSWORD and MyApiKey are caught too. When in doubt a long word
// refuses: TOKENIZER_NAME is refused for containing TOKEN, which costs the
// user a --vars, while the opposite mistake could leak a password.
var longWords = []string{
	"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE",
	"AUTHORIZATION", "SESSION", "COOKIE", "SIGNATURE", "CERTIFICATE",
	"APIKEY", "ACCESSKEY", "SIGNINGKEY", "ENCRYPTIONKEY", "MASTERKEY", "SSHKEY", "LICENSEKEY",
	"CONNECTIONSTRING", "CONNSTRING", "CONNSTR",
}

// systemNames are variables that shells and desktops set, whose names
// contain a secret-looking word but whose values are not secrets (the
// working directory, a socket path, a session type). Refusing them would
// only raise false alarms on every developer machine.
var systemNames = []string{"PWD", "OLDPWD", "SSH_AUTH_SOCK", "DESKTOP_SESSION", "SESSION_MANAGER", "DBUS_SESSION_BUS_ADDRESS"}

// Word returns the word that makes an environment variable's name look like
// a secret's, or "" when it does not.
func Word(name string) string {
	upper := strings.ToUpper(name)
	if slices.Contains(systemNames, upper) || strings.HasPrefix(upper, "XDG_SESSION_") {
		return ""
	}
	words := Words(name)
	for _, w := range words {
		if slices.Contains(shortWords, w) {
			return w
		}
	}
	joined := strings.Join(words, "")
	for _, w := range longWords {
		if strings.Contains(joined, w) {
			return w
		}
	}
	return ""
}

// Looks reports whether an environment variable's name looks like a
// secret's.
func Looks(name string) bool { return Word(name) != "" }

// Words splits a name into upper-cased words at separators (anything but a
// letter or digit), at case changes (apiKey, APIKey) and between letters and
// digits (OAUTH2).
func Words(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToUpper(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if len(cur) > 0 {
			prev := cur[len(cur)-1]
			switch {
			case unicode.IsLower(prev) && unicode.IsUpper(r): // apiKey
				flush()
			case unicode.IsUpper(prev) && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]): // APIKey
				flush()
			case unicode.IsDigit(prev) != unicode.IsDigit(r): // OAUTH2
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// MinValueLen is the length below which a secret variable's value is not
// looked for: short values (a port, "dev") occur in SQL by chance.
const MinValueLen = 6

// commonValues are values that occur in SQL by chance, whatever the
// variable's name.
var commonValues = []string{"true", "false", "enabled", "disabled", "default", "public", "localhost"}

// Values are the values of the secret-looking variables of an environment,
// to be found in text before it is written.
type Values struct {
	entries []entry // sorted by name, so reports are stable
}

type entry struct {
	name  string
	forms []string // the value as is, and as JSON writes it when different
}

// FromEnviron collects the values of the secret-looking variables in
// environ (KEY=value pairs, as os.Environ returns). Values shorter than
// MinValueLen, made only of digits, or common words are skipped: they would
// raise false alarms and are too weak to be worth protecting.
func FromEnviron(environ []string) Values {
	var v Values
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !Looks(name) || ignorable(value) {
			continue
		}
		e := entry{name: name, forms: []string{value}}
		if b, err := json.Marshal(value); err == nil {
			if j := string(b[1 : len(b)-1]); j != value {
				e.forms = append(e.forms, j)
			}
		}
		v.entries = append(v.entries, e)
	}
	slices.SortFunc(v.entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return v
}

func ignorable(value string) bool {
	t := strings.TrimSpace(value)
	if len(t) < MinValueLen || slices.Contains(commonValues, strings.ToLower(t)) {
		return true
	}
	return strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// Find returns the name of a secret-looking variable whose value text
// contains, and where in text it starts; "" and -1 when there is none. It
// never returns the value.
func (v Values) Find(text string) (name string, at int) {
	for _, e := range v.entries {
		for _, f := range e.forms {
			if i := strings.Index(text, f); i >= 0 {
				return e.name, i
			}
		}
	}
	return "", -1
}

// Len is how many values Find looks for.
func (v Values) Len() int { return len(v.entries) }

// Longest is the length in bytes of the longest text Find looks for, 0 when
// there is none: text checked in pieces must carry that many bytes less one
// from a piece into the next, or a value split between them goes unseen.
func (v Values) Longest() int {
	longest := 0
	for _, e := range v.entries {
		for _, f := range e.forms {
			longest = max(longest, len(f))
		}
	}
	return longest
}
