#!/usr/bin/env bash
# The whole test suite: formatting and vet, unit and end-to-end tests with the race detector,
# short fuzzing, template and workflow lint, the benchmark in quick mode, and the real image
# built and run with podman (skipped with a message where podman or root is missing).
#
#   bash test/all.sh            # everything
#   SKIP_IMAGE=1 bash test/all.sh   # without the podman/act image check
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

step "gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt'd:"; echo "$unformatted"; exit 1
fi
go vet ./...

step "go test -race (unit, fakes, end-to-end through the compiled binary, real AWS CLI and moto peers)"
go test -race -count=1 -timeout 20m ./...

step "fuzzing (short, bounded)"
fuzz() { # fuzz PKG TARGET
	go test -run='^$' -fuzz="^$2\$" -fuzztime="${FUZZTIME:-10s}" "$1"
}
fuzz ./internal/gha FuzzWriteEnv
fuzz ./internal/gha FuzzNeutralize
fuzz ./test/hardening FuzzConfigLoad
for t in $(go test -list '^Fuzz' ./internal/cfn | grep '^Fuzz' || true); do fuzz ./internal/cfn "$t"; done
fuzz ./test/cfnyaml FuzzToJSON

step "templates and workflows (cfn-lint, actionlint)"
bash test/lint.sh

if [ -f test/bench/main.go ]; then
	step "benchmark, quick mode (CI checks it runs, not its timings)"
	go run ./test/bench -quick
fi

if [ -z "${SKIP_IMAGE:-}" ] && [ -f test/image/run.sh ]; then
	step "the real image: podman build of the Dockerfile, run as the runner does, and act"
	bash test/image/run.sh
fi
echo
echo "all checks passed"
