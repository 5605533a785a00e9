package protobridgecmd

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/protobridge/protobridge/internal/config"
)

// adminTokenEnv holds the admin token when --admin names the listener.
const adminTokenEnv = "PROTOBRIDGE_ADMIN_TOKEN"

// jobsCommand is `protobridge jobs list|show|cancel`, a client of the
// admin listener's /jobs endpoints.
func jobsCommand() *cobra.Command {
	jobs := &cobra.Command{
		Use:   "jobs",
		Short: "List, show and cancel async jobs through a running daemon's admin listener",
		Long: `Talks to a running daemon's admin listener (admin.listen): the address and token come
from the config (--config, $` + configEnv + `, ./` + defaultConfig + `), or from --admin URL with the
token in $` + adminTokenEnv + `.`,
		Args: cobra.NoArgs,
	}
	var cfgPath, admin string
	jobs.PersistentFlags().StringVarP(&cfgPath, "config", "c", "", "config of the daemon (its admin.listen and admin.token)")
	jobs.PersistentFlags().StringVar(&admin, "admin", "", "admin listener URL, e.g. http://127.0.0.1:9090 (instead of the config)")
	client := func() (*adminClient, error) { return newAdminClient(cfgPath, admin) }

	var state, method string
	var limit int
	var asJSON bool
	list := &cobra.Command{
		Use: "list", Short: "List jobs, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if state != "" {
				q.Set("state", strings.ToUpper(state))
			}
			if method != "" {
				q.Set("method", method)
			}
			q.Set("page_size", fmt.Sprint(limit))
			body, code := c.do(cmd.ErrOrStderr(), http.MethodGet, "/jobs?"+q.Encode())
			if code != exitOK {
				return status(code)
			}
			if asJSON {
				_, _ = cmd.OutOrStdout().Write(body)
				return nil
			}
			return status(printJobs(cmd.OutOrStdout(), cmd.ErrOrStderr(), body))
		},
	}
	list.Flags().StringVar(&state, "state", "", "only jobs in this state: queued, running, retrying, succeeded, failed, cancelled")
	list.Flags().StringVar(&method, "method", "", "only jobs of this method (pkg.Service/Method)")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many jobs (up to 1000)")
	list.Flags().BoolVar(&asJSON, "json", false, "print the admin API's JSON")
	show := &cobra.Command{
		Use: "show JOB_ID", Short: "Print one job as JSON, its result or error included", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			body, code := c.do(cmd.ErrOrStderr(), http.MethodGet, "/jobs/"+url.PathEscape(args[0]))
			if code == exitOK {
				_, _ = cmd.OutOrStdout().Write(body)
			}
			return status(code)
		},
	}
	cancel := &cobra.Command{
		Use: "cancel JOB_ID", Short: "Cancel a job that has not finished (a running call is cut)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			body, code := c.do(cmd.ErrOrStderr(), http.MethodPost, "/jobs/"+url.PathEscape(args[0])+"/cancel")
			if code != exitOK {
				return status(code)
			}
			var j struct {
				ID    string `json:"id"`
				State string `json:"state"`
			}
			_ = json.Unmarshal(body, &j)
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", j.ID, strings.TrimPrefix(j.State, "JOB_STATE_"))
			return nil
		},
	}
	jobs.AddCommand(list, show, cancel)
	return jobs
}

// adminClient calls one daemon's admin listener.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

func newAdminClient(cfgPath, admin string) (*adminClient, error) {
	c := &adminClient{http: &http.Client{Timeout: 30 * time.Second}}
	if admin != "" {
		u, err := url.Parse(admin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--admin %q is not an http:// URL", admin)
		}
		c.base, c.token = strings.TrimSuffix(admin, "/"), os.Getenv(adminTokenEnv)
		return c, nil
	}
	path, err := resolveConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if cfg.Admin.Listen == "" {
		return nil, fmt.Errorf("%s has no admin.listen; pass --admin URL", path)
	}
	host, port, err := net.SplitHostPort(cfg.Admin.Listen)
	if err != nil {
		return nil, err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c.base = "http://" + net.JoinHostPort(host, port)
	if cfg.Admin.Token != nil {
		if c.token, err = cfg.Admin.Token.Resolve(cfg.BaseDir); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// do sends a request and returns the body, or prints what went wrong
// and returns exitFailure.
func (c *adminClient) do(stderr io.Writer, method, path string) ([]byte, int) {
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, exitFailure
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "admin listener %s: %v\n", c.base, err)
		return nil, exitFailure
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		fmt.Fprintf(stderr, "admin listener %s: %v\n", c.base, err)
		return nil, exitFailure
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
		}
		fmt.Fprintf(stderr, "%s %s: HTTP %d: %s\n", method, path, resp.StatusCode, e.Error)
		return nil, exitFailure
	}
	return body, exitOK
}

// printJobs prints a /jobs page as a table.
func printJobs(stdout, stderr io.Writer, body []byte) int {
	var page struct {
		Jobs []struct {
			ID         string    `json:"id"`
			Method     string    `json:"method"`
			State      string    `json:"state"`
			Priority   string    `json:"priority"`
			Attempts   int       `json:"attempts"`
			CreateTime time.Time `json:"createTime"`
			Error      *struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"jobs"`
		Next string `json:"nextPageToken"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		fmt.Fprintf(stderr, "the admin listener answered something else than a job list: %v\n", err)
		return exitFailure
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATE\tPRIORITY\tATTEMPTS\tAGE\tMETHOD\tERROR")
	for _, j := range page.Jobs {
		code := ""
		if j.Error != nil {
			code = j.Error.Code
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", j.ID, strings.TrimPrefix(j.State, "JOB_STATE_"), strings.TrimPrefix(j.Priority, "JOB_PRIORITY_"),
			j.Attempts, time.Since(j.CreateTime).Round(time.Second), j.Method, code)
	}
	_ = w.Flush()
	if page.Next != "" {
		fmt.Fprintln(stderr, "(more jobs: raise --limit or narrow with --state/--method)")
	}
	return exitOK
}
