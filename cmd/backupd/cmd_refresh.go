package main

import (
	"context"
	"fmt"
	"net/url"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/fly"
)

// tokenEnv holds the Machines API token. There is deliberately no flag for
// it: a flag would put the secret on the command line.
const tokenEnv = "FLY_YESTERDAY_RESTART_TOKEN"

// refreshFlags are the settings of the yesterday refresh.
type refreshFlags struct {
	set      *cli.Set
	app, api *cli.Setting
}

func addRefreshFlags(set *cli.Set) *refreshFlags {
	return &refreshFlags{
		set: set,
		app: set.String("refresh-app", []string{"BACKUPD_REFRESH_APP"}, "",
			"Fly app whose machines are restarted to reload a fresh snapshot (the token comes from env "+tokenEnv+")"),
		api: set.String("fly-api", []string{"FLY_API_URL"}, fly.DefaultAPI, "Fly Machines API base URL; default "+fly.DefaultAPI),
	}
}

// client returns the Machines API client and app, or a nil client when no
// app is configured. An app without a token, or a malformed API URL, is a
// usage error.
func (r *refreshFlags) client() (*fly.Client, string, error) {
	app := r.set.Get(r.app)
	if app == "" {
		return nil, "", nil
	}
	token := r.set.Getenv(tokenEnv)
	if token == "" {
		return nil, "", cli.Usagef("%s is set but %s is not: the refresh needs the Machines API token", r.app.Name(), tokenEnv)
	}
	api, src := r.set.Value(r.api)
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", cli.Usagef("invalid fly-api=%q from %s: want an http or https URL", api, src)
	}
	return &fly.Client{API: api, Token: token}, app, nil
}

func runRefresh(ctx context.Context, a *app, args []string) error {
	set := cli.NewSet("refresh", a.getenv)
	flags := addRefreshFlags(set)
	debug := set.Bool("debug", "log debugging detail")
	if err := a.parse(set, args); err != nil {
		return err
	}
	client, app, err := flags.client()
	if err != nil {
		return err
	}
	if client == nil {
		return cli.Usagef("missing app to refresh: set %s", flags.app.Name())
	}
	client.Log = cli.NewLogger(a.stderr, *debug)
	restarted, err := client.RestartAll(ctx, app)
	for _, id := range restarted {
		fmt.Fprintf(a.stdout, "restarted machine %s\n", id)
	}
	if err != nil {
		return fmt.Errorf("refresh %s: %w", app, err)
	}
	fmt.Fprintf(a.stdout, "refreshed app %s: %d machine(s) restarted\n", app, len(restarted))
	return nil
}
