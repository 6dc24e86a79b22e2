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
	var files [len(aigen.Files)][]byte
	for i, name := range aigen.Files {
		b, err := os.ReadFile(name)
		if err != nil {
			log.Fatal(err)
		}
		files[i] = b
	}
	out, err := aigen.Generate(aigen.Inputs{Dictionary: files[0], ISO3166: files[1], ISO4217: files[2], PackageTypes: files[3]})
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(aigen.Output, out, 0o644); err != nil {
		log.Fatal(err)
	}
}
