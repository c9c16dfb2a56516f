// Command gen generates the wire code of an AWS Query-protocol service (ec2
// or query) from a trimmed botocore model: typed input and output structures,
// their decoders from awsapi.Params and reflection-free XML encoders, and the
// dispatch of actions to per-operation interfaces. See DESIGN.md §3.
//
//	go run ./internal/awsapi/gen -model internal/awsapi/model/ec2.json -pkg ec2 -out internal/awsapi/ec2/zz_generated_wire.go
//
// The trimmed models come from ./trim. Generated code imports only awsapi
// and the standard library; this command must not be imported by anything.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	modelPath := flag.String("model", "", "trimmed service model (JSON)")
	pkg := flag.String("pkg", "", "package name of the generated file")
	out := flag.String("out", "", "output file")
	flag.Parse()
	if err := run(*modelPath, *pkg, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(modelPath, pkg, out string) error {
	if modelPath == "" || pkg == "" || out == "" {
		return fmt.Errorf("-model, -pkg and -out are required")
	}
	m, err := loadModel(modelPath)
	if err != nil {
		return fmt.Errorf("%s: %w", modelPath, err)
	}
	src, err := generate(m, pkg, modelPath)
	if err != nil {
		return fmt.Errorf("%s: %w", modelPath, err)
	}
	return os.WriteFile(out, src, 0o644)
}
