package secret

import (
	"slices"
	"testing"
)

func TestWord(t *testing.T) {
	refused := map[string]string{
		"DB_PASSWD": "PASSWD", "DB_PASSWORD": "PASSWORD", "db_password": "PASSWORD", "DBPASSWORD": "PASSWORD",
		"MYSQL_PWD": "PWD", "DB_PASS": "PASS", "GH_PAT": "PAT", "AUTH": "AUTH", "HTTP_AUTHORIZATION": "AUTHORIZATION",
		"API_TOKEN": "TOKEN", "GITHUB_TOKEN": "TOKEN", "AWS_SECRET_ACCESS_KEY": "KEY", "SERVICE_API_KEY": "KEY",
		"apiKey": "KEY", "MyAPIKey": "KEY", "STRIPEAPIKEY": "APIKEY", "PRIVATE_KEY_PATH": "KEY",
		"SNOWFLAKE_PRIVATE_KEY": "KEY", "GOOGLE_APPLICATION_CREDENTIALS": "CREDENTIAL", "AWS_CREDS": "CREDS",
		"TLS_CERT": "CERT", "SESSION_ID": "SESSION", "COOKIE_JAR": "COOKIE", "WEBHOOK_SIGNATURE": "SIGNATURE",
		"HASH_SALT": "SALT", "SENTRY_DSN": "DSN", "DB_CONNECTION_STRING": "CONNECTIONSTRING", "OAUTH2_CLIENT": "OAUTH",
		"SSH_PASSPHRASE": "PASSPHRASE", "TOKENIZER_MODEL": "TOKEN", "PRIMARY_KEY": "KEY", "my.secret.value": "SECRET",
		"jwt-signing": "JWT",
	}
	for name, want := range refused {
		if got := Word(name); got != want {
			t.Errorf("Word(%q) = %q, want %q", name, got, want)
		}
		if !Looks(name) {
			t.Errorf("Looks(%q) = false", name)
		}
	}
	for _, name := range []string{
		"PATH", "GOPATH", "PATTERN", "KEYBOARD", "KEYBOARD_LAYOUT", "MONKEY", "AUTHOR", "AUTHOR_NAME", "PASSENGER_COUNT",
		"COMPASS", "BYPASS_CACHE", "HOME", "USER", "REGION", "QUARRY_TARGET", "SALTO", "CERTAINTY",
		// Set by shells and desktops; their values are not secrets.
		"PWD", "OLDPWD", "SSH_AUTH_SOCK", "XDG_SESSION_TYPE", "DESKTOP_SESSION", "DBUS_SESSION_BUS_ADDRESS",
	} {
		if w := Word(name); w != "" {
			t.Errorf("Word(%q) = %q, want allowed", name, w)
		}
	}
}

func TestWords(t *testing.T) {
	for name, want := range map[string][]string{
		"AWS_SECRET_ACCESS_KEY": {"AWS", "SECRET", "ACCESS", "KEY"},
		"apiKey":                {"API", "KEY"},
		"MyAPIKey":              {"MY", "API", "KEY"},
		"oauth2-token.v1":       {"OAUTH", "2", "TOKEN", "V", "1"},
	} {
		if got := Words(name); !slices.Equal(got, want) {
			t.Errorf("Words(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestFind(t *testing.T) {
	v := FromEnviron([]string{
		"DB_PASSWORD=hunter2hunter2", "GH_PAT=ghp_abc<def>", "HOME=/home/someone", "SHORT_TOKEN=abc",
		"FLAG_SECRET=true", "PIN_SECRET=12345678", "PWD=/work/project", "EMPTY_SECRET=",
	})
	if v.Len() != 2 {
		t.Fatalf("collected %d values, want 2 (DB_PASSWORD, GH_PAT)", v.Len())
	}
	for text, want := range map[string]string{
		"select 'hunter2hunter2'":               "DB_PASSWORD",
		"select 'ghp_abc<def>'":                 "GH_PAT",
		`{"message": "ghp_abc\u003cdef\u003e"}`: "GH_PAT", // as encoding/json escapes it
		"select '/home/someone'":                "",       // HOME is no secret
		"select 'abc', true, 12345678":          "",       // too short, common, digits only
		"select * from '/work/project/x.csv'":   "",       // the shell's PWD
	} {
		if got, at := v.Find(text); got != want || (got == "") != (at < 0) {
			t.Errorf("Find(%q) = %q, want %q", text, got, want)
		}
	}
}
