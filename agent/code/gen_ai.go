//go:build ignore

// gen_ai writes ai_table.go from the GS1 Barcode Syntax Dictionary and the
// code lists in testdata/. Run it with `go generate` in this directory.
package main

import (
	"log"
	"os"

	"github.com/udi-edge/udi-edge/agent/code/internal/aigen"
)

func main() {
	in, err := aigen.Load(".")
	if err != nil {
		log.Fatal(err)
	}
	out, err := aigen.Generate(in)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(aigen.Output, out, 0o644); err != nil {
		log.Fatal(err)
	}
}
