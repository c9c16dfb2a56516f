package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/privlink/privlink/internal/admin"
)

func newStatusCmd(e env) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the status of a running daemon",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if f.output == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "    ")
				return enc.Encode(st)
			}
			return writeStatusText(e.stdout, st)
		},
	}
	f.register(cmd)
	return cmd
}

func writeStatusText(w io.Writer, st admin.Status) error {
	reconciled := "yes"
	if !st.Reconciled {
		reconciled = "not yet"
	}
	namespaces := "-"
	if len(st.Namespaces) > 0 {
		namespaces = strings.Join(st.Namespaces, "\n                  ")
	}
	_, err := fmt.Fprintf(w, `Region:           %s
Zones:            %s
API endpoint:     http://%s
Store revision:   %d
Accounts:         %d
VPCs:             %d
Subnets:          %d
Reconciled:       %s
Namespaces:       %s
`, st.Region, strings.Join(st.Zones, ", "), st.Listen, st.StoreRevision, st.Accounts, st.Vpcs, st.Subnets, reconciled, namespaces)
	if err == nil && st.LastError != "" {
		_, err = fmt.Fprintf(w, "Last error:       %s\n", st.LastError)
	}
	return err
}
