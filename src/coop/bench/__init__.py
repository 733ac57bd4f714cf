"""The benchmark harness behind `coop bench SCENARIO` (spec: quality.md, performance targets)."""
