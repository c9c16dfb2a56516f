package demo

import (
	"fmt"
	"io"
	"strings"
)

// lineWidth is where printed commands wrap.
const lineWidth = 100

// printer writes the demo's story to stdout: section titles, the commands
// that each step is equivalent to, and their key results. It is not a log.
type printer struct {
	w        io.Writer
	endpoint string // --endpoint-url of the aws commands
}

// section starts a numbered part of the story.
func (p *printer) section(title string) {
	fmt.Fprintf(p.w, "\n== %s\n", title)
}

// say prints a paragraph of explanation.
func (p *printer) say(format string, args ...any) {
	fmt.Fprintf(p.w, "\n"+format+"\n", args...)
}

// aws prints the AWS CLI command equivalent to a call made as profile.
func (p *printer) aws(profile string, args ...string) {
	argv := append([]string{"aws"}, args...)
	argv = append(argv, "--profile", profile, "--endpoint-url", p.endpoint)
	p.command(argv)
}

// cmd prints a command line run on the host.
func (p *printer) cmd(argv ...string) { p.command(argv) }

// command prints argv shell-quoted after a prompt. It wraps with
// backslashes before an option that would pass lineWidth, and keeps each
// option with its values (and --profile with --endpoint-url) on one line.
func (p *printer) command(argv []string) {
	var groups [][]string
	for _, a := range argv {
		if len(groups) == 0 || strings.HasPrefix(a, "--") && a != "--endpoint-url" {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], shellQuote(a))
	}
	var b strings.Builder
	b.WriteString("$")
	col := 1
	for i, g := range groups {
		text := " " + strings.Join(g, " ")
		if i > 0 && col+len(text) > lineWidth {
			b.WriteString(" \\\n   ")
			col = 3
		}
		b.WriteString(text)
		col += len(text)
	}
	fmt.Fprintf(p.w, "\n%s\n", b.String())
}

// result prints key: value pairs of a result on one indented line.
func (p *printer) result(kv ...string) {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+": "+kv[i+1])
	}
	fmt.Fprintf(p.w, "  → %s\n", strings.Join(parts, "   "))
}

// output prints the output of a command, indented.
func (p *printer) output(s string) {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return
	}
	for line := range strings.Lines(s) {
		fmt.Fprintf(p.w, "  | %s", line)
	}
	fmt.Fprintln(p.w)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
