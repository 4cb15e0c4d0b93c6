#!/usr/bin/env bash
# The seed's shell step, the baseline users would otherwise write: assume the
# deploy role with the AWS CLI and jq, mask the secrets, and export them to
# later steps through GITHUB_ENV. The benchmark runs it as a peer.
#
# Inputs (environment): ROLE_ARN, AWS_REGION, source credentials in
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, GITHUB_ENV; optional AWS_CLI (the
# CLI to run, default `aws`), AWS_ENDPOINT_URL (passed as --endpoint-url, which
# CLI v2 before 2.13 needs) and ROLE_SESSION_NAME.
set -euo pipefail
cli=${AWS_CLI:-aws}
endpoint=()
if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
	endpoint=(--endpoint-url "$AWS_ENDPOINT_URL")
fi
creds=$("$cli" sts assume-role "${endpoint[@]}" --region "$AWS_REGION" --output json \
	--role-arn "$ROLE_ARN" --role-session-name "${ROLE_SESSION_NAME:-GitHubActions}")
key=$(jq -r .Credentials.AccessKeyId <<<"$creds")
secret=$(jq -r .Credentials.SecretAccessKey <<<"$creds")
token=$(jq -r .Credentials.SessionToken <<<"$creds")
echo "::add-mask::$key"
echo "::add-mask::$secret"
echo "::add-mask::$token"
{
	echo "AWS_ACCESS_KEY_ID=$key"
	echo "AWS_SECRET_ACCESS_KEY=$secret"
	echo "AWS_SESSION_TOKEN=$token"
	echo "AWS_REGION=$AWS_REGION"
	echo "AWS_DEFAULT_REGION=$AWS_REGION"
} >>"$GITHUB_ENV"
