#!/usr/bin/env bash
# check-credentials.sh JOB REGION: a later step of a job that used the action
# checks what the runner handed on: the exported AWS_* variables and the step
# outputs (ACCOUNT_ID, AUTHENTICATED_ARN). It prints the secret key on purpose,
# for test/image/run.sh to see the runner mask it, and leaves the clear value
# in test/image/.act-out/JOB.secret (outside the Docker build context) for
# run.sh to look for in the runner's log.
set -euo pipefail
job=$1 region=$2
fail() {
	echo "::error::$job: $*"
	exit 1
}
[[ ${AWS_REGION:-} == "$region" ]] || fail "AWS_REGION is '${AWS_REGION:-}', want $region"
[[ ${AWS_DEFAULT_REGION:-} == "$region" ]] || fail "AWS_DEFAULT_REGION is '${AWS_DEFAULT_REGION:-}', want $region"
[[ ${AWS_ACCESS_KEY_ID:-} == ASIA* ]] || fail "AWS_ACCESS_KEY_ID is not a temporary key id"
[[ -n ${AWS_SECRET_ACCESS_KEY:-} && -n ${AWS_SESSION_TOKEN:-} ]] || fail "AWS_SECRET_ACCESS_KEY or AWS_SESSION_TOKEN is empty"
[[ ${ACCOUNT_ID:-} == 123456789012 ]] || fail "output aws-account-id is '${ACCOUNT_ID:-}'"
[[ ${AUTHENTICATED_ARN:-} == arn:aws:sts::123456789012:assumed-role/deploy/* ]] || fail "output authenticated-arn is '${AUTHENTICATED_ARN:-}'"
echo "secret key seen by a later step: $AWS_SECRET_ACCESS_KEY"
mkdir -p test/image/.act-out
printf '%s' "$AWS_SECRET_ACCESS_KEY" >"test/image/.act-out/$job.secret"
echo "IMAGE_TEST_OK $job"
