// Package check is the preflight of the source: named checks, each with a status and,
// when it fails, the fix, recorded into a finding.Report (the targets add their own). It
// reads and never changes anything a user keeps.
package check
