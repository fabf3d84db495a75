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
	RefreshApp string `help:"Fly app whose machines are restarted to reload a fresh snapshot; the token comes from FLY_YESTERDAY_RESTART_TOKEN" env:"BACKUPD_REFRESH_APP"`
	FlyAPI     string `name:"fly-api" help:"Fly Machines API base URL" default:"${fly_api}" env:"FLY_API_URL"`
}

// client returns the Machines API client and app, or a nil client when no
// app is configured. An app without a token, or a malformed API URL, is
// recorded in p.
func (r *refreshFlags) client(p *cli.Problems) (*fly.Client, string) {
	if r.RefreshApp == "" {
		return nil, ""
	}
	token := p.Getenv(tokenEnv)
	if token == "" {
		p.Addf("%s is set but %s is not: the refresh needs the Machines API token", p.Name("refresh-app"), tokenEnv)
	}
	u, err := url.Parse(r.FlyAPI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.Invalid("fly-api", r.FlyAPI, "want an http or https URL")
	}
	return &fly.Client{API: r.FlyAPI, Token: token}, r.RefreshApp
}

// refreshCmd restarts the yesterday app's machines once.
type refreshCmd struct {
	Refresh refreshFlags `embed:""`
	Debug   bool         `help:"log debugging detail"`
}

func (c *refreshCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	client, app := c.Refresh.client(p)
	if client == nil {
		p.Missing("refresh-app", "app to refresh")
	}
	if err := p.Err(); err != nil {
		return err
	}
	client.Log = cli.NewLogger(a.stderr, c.Debug)
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
