package main

import (
	"os/exec"
	"strings"
	"testing"
)

// stages is the one-way data flow, earliest first: a package may import
// only packages of earlier stages (and, for the command, any).
var stages = []string{
	"capture/filter",  // capture filters, compiled for the kernel
	"capture/sip",     // the SIP wire format
	"capture",         // sources, packets, transports, encapsulations
	"analyze",         // transactions, dialogs, findings, the report
	"analyze/probe",   // a device asked: calls placed and taken, its card
	"analyze/driver",  // the read loop and the pipeline
	"analyze/render",  // the words and shapes of a report
	"analyze/monitor", // events and metrics of a running analysis
	"cmd/sipalive",    // flags, subcommands, exit codes
}

// TestLayering holds the packages to the data flow: no import from a stage
// to a later one, no cycle.
func TestLayering(t *testing.T) {
	const module = "github.com/sipalive/sipalive/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "../../capture/...", "../../analyze/...", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rank := map[string]int{}
	for i, s := range stages {
		rank[s] = i
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		r, ok := rank[pkg]
		if !ok {
			t.Errorf("package %s has no stage: add it to stages", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			if ri, ok := rank[imp]; ok && ri >= r {
				t.Errorf("%s (stage %d) imports %s (stage %d): the data flows the other way", pkg, r, imp, ri)
			}
		}
	}
}
