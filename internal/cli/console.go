package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/privlink/privlink/internal/model"
)

// newConsoleOutputCmd prints an instance's console log (its UserData's
// output), as GetConsoleOutput returns it, read through the daemon.
func newConsoleOutputCmd(e env) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "console-output INSTANCE-ID",
		Short: "Print an instance's console output (its UserData's log)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if !model.ValidID(model.PrefixInstance, id) {
				return fmt.Errorf("invalid instance id %q: want i- and 8 or 17 hex digits", id)
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			out, err := c.ConsoleOutput(cmd.Context(), id)
			if err != nil {
				return err
			}
			_, err = io.WriteString(e.stdout, out.Output)
			return err
		},
	}
	f.register(cmd)
	return cmd
}
