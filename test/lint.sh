#!/usr/bin/env bash
# Lints what the Go tests do not: every CloudFormation template with cfn-lint, and every workflow
# (the repository's and the examples) with actionlint. Prints each file it checks; exits non-zero if any fails.
#
# Needs: cfn-lint (a Python package: `pip install cfn-lint`) and Go; actionlint is installed from the Go
# module proxy into ./bin on first use, at the pinned version below.
set -euo pipefail

ACTIONLINT_VERSION=1.7.12

cd "$(dirname "$0")/.."
shopt -s nullglob

passed=0
failed=0
check() { # check LABEL FILE CMD...
	local label=$1 file=$2
	shift 2
	if "$@" "$file"; then
		echo "ok    ${label} ${file}"
		passed=$((passed + 1))
	else
		echo "FAIL  ${label} ${file}"
		failed=$((failed + 1))
	fi
}

# --- cfn-lint -------------------------------------------------------------------------------------
if command -v cfn-lint >/dev/null 2>&1; then
	cfnlint=(cfn-lint)
elif command -v python3 >/dev/null 2>&1 && python3 -c 'import cfnlint' 2>/dev/null; then
	cfnlint=(python3 -m cfnlint)
else
	echo "lint.sh: cfn-lint not found; install it with 'pip install cfn-lint'" >&2
	exit 1
fi
echo "cfn-lint $("${cfnlint[@]}" --version 2>&1 | awk '{print $NF}')"

templates=(iam/bootstrap.yaml examples/templates/*.yaml)
for t in "${templates[@]}"; do
	check cfn-lint "$t" "${cfnlint[@]}" --
done

# --- actionlint -----------------------------------------------------------------------------------
actionlint=bin/actionlint
if ! [ -x "$actionlint" ] || [ "$("$actionlint" -version | head -n1)" != "v${ACTIONLINT_VERSION}" ]; then
	echo "installing actionlint v${ACTIONLINT_VERSION} into ./bin"
	GOBIN="$PWD/bin" go install "github.com/rhysd/actionlint/cmd/actionlint@v${ACTIONLINT_VERSION}"
fi
echo "actionlint $("$actionlint" -version | head -n1)"

# Explicit file arguments: actionlint only discovers .github/workflows by itself, and the examples are
# complete workflows too.
workflows=(.github/workflows/*.yml .github/workflows/*.yaml examples/*.yml)
if [ ${#workflows[@]} -eq 0 ]; then
	echo "lint.sh: no workflows found" >&2
	exit 1
fi
# actionlint reads a Docker action's post-entrypoint as a file of the repository; for a Docker action it is
# a path inside the image (the Dockerfile links /aws-assume-deploy-post to the binary; test/image checks it).
ignore_post='file "/aws-assume-deploy-post" does not exist in .* "post-entrypoint" key'
for w in "${workflows[@]}"; do
	check actionlint "$w" "$actionlint" -no-color -ignore "$ignore_post"
done

echo "lint: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
