#!/usr/bin/env bash
# Go microbenchmarks of the hot paths (safe env writer, Neutralize, the
# masking log, config.Load, and internal/cfn's parsing and event streaming),
# in benchstat's format:
#
#   bash test/bench/micro.sh > old.txt   # on the base commit
#   bash test/bench/micro.sh > new.txt   # on the change
#   benchstat old.txt new.txt            # go install golang.org/x/perf/cmd/benchstat@latest
#
# COUNT (default 6) and BENCHTIME (default 500ms) tune the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go test -run '^$' -bench . -benchmem -count "${COUNT:-6}" -benchtime "${BENCHTIME:-500ms}" \
	./internal/gha ./internal/config ./internal/cfn
