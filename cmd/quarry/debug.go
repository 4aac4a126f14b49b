package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/internal/english"
)

// secretSettings are target keys whose values are never printed.
var secretSettings = []string{"password", "private_key_path", "private_key", "token", "passcode", "private_key_passphrase"}

func (a *app) debugCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "debug",
		Short: "Check the project, the target's settings and connection, and the extractors' credentials",
		Long: `debug loads the project, shows the target's settings (secrets only as
set or not set, never their values), connects to the target, and asks each
extractor whether its credentials work. It exits 1 when something must be
fixed, and says what.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.load()
			if err != nil {
				return err
			}
			problems := 0
			mark := func(ok bool) string {
				if ok {
					return "ok "
				}
				problems++
				return "!! "
			}
			fmt.Fprintf(a.stdout, "project:  %s (%s)\n", p.Name, p.Dir)
			fmt.Fprintf(a.stdout, "found:    %s\n", inventory(p))
			fmt.Fprintf(a.stdout, "target:   %s (%s), %d %s\n", p.Target.Name, p.Target.Type, p.Threads, english.Plural(p.Threads, "thread", "threads"))
			keys := make([]string, 0, len(p.Target.Settings))
			for k := range p.Target.Settings {
				if k != "type" && k != "threads" {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				raw := p.Target.Settings[k]
				value := p.Target.Setting(k, a.env)
				shown := value
				switch {
				case slices.Contains(secretSettings, k) && value != "":
					shown = "set"
				case value == "":
					shown = "not set"
				}
				if strings.Contains(raw, "${") {
					shown += " (from " + strings.Trim(raw, "${}") + ")"
				}
				fmt.Fprintf(a.stdout, "  %-16s %s\n", k+":", shown)
			}
			wh, err := adapters()[p.Target.Type].Open(cmd.Context(), p.Dir, p.Target, p.Threads, a.env)
			if err != nil {
				fmt.Fprintf(a.stdout, "%sconnection: %v\n", mark(false), err)
			} else {
				_, qerr := wh.Query(cmd.Context(), "select 1", 1)
				wh.Close()
				if qerr != nil {
					fmt.Fprintf(a.stdout, "%sconnection: %v\n", mark(false), qerr)
				} else {
					fmt.Fprintf(a.stdout, "%sconnection: connected and ran a query\n", mark(true))
				}
			}
			client := &http.Client{Timeout: 15 * time.Second}
			for _, c := range p.CheckExtractors(cmd.Context(), client) {
				fmt.Fprintf(a.stdout, "extractor %s:\n", c.Name)
				for _, f := range c.Findings {
					fmt.Fprintf(a.stdout, "  %s%s\n", mark(f.OK), f.Text)
				}
			}
			if problems > 0 {
				return &exitError{code: exitFailed, err: fmt.Errorf("%d %s to fix (marked !!)", problems, english.Plural(problems, "thing", "things"))}
			}
			fmt.Fprintln(a.stdout, "All checks passed.")
			return nil
		},
	}
}
