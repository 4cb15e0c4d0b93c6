#!/usr/bin/env bash
# check-release-tag.sh TAG SHA < TAGS
#
# Decides whether the release workflow may release TAG (vMAJOR.MINOR.PATCH or
# vMAJOR.MINOR.PATCH-PRERELEASE) from commit SHA, given the repository's
# existing release tags on standard input, one "NAME COMMIT" per line (COMMIT is
# the commit the tag was made on: for a tag that the release job already moved
# to its "Release vX.Y.Z" commit, that commit's parent).
#
# It refuses (exit 1, one ::error:: line on stderr):
#   - a TAG that is not vMAJOR.MINOR.PATCH[-PRERELEASE];
#   - a TAG that already exists on another commit;
#   - a TAG lower than the highest release (no pre-release part) of its major,
#     or a pre-release of a version already released: releasing it would move
#     the major tag (v1) and the image's :1 and :1.2 tags back to older code.
# Otherwise it prints, for GITHUB_OUTPUT:
#   move-major=true|false  TAG is a release (not a pre-release), so v1, :1 and :1.2 move to it
#   latest=true|false      TAG is also the highest release of every major, so :latest moves to it
#
# Versions are compared with `sort -V` on MAJOR.MINOR.PATCH; a pre-release is
# lower than its release, as in semver. The test is test/release/checktag_test.go.
set -euo pipefail

die() {
	echo "::error::$*" >&2
	exit 1
}

[[ $# -eq 2 ]] || die "usage: check-release-tag.sh TAG SHA < TAGS"
tag=$1 sha=$2
semver='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$'
[[ $tag =~ $semver ]] || die "$tag is not a release tag (vMAJOR.MINOR.PATCH or vMAJOR.MINOR.PATCH-PRERELEASE)"
major=${BASH_REMATCH[1]}
core="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
pre=${BASH_REMATCH[4]}
[[ $sha =~ ^[0-9a-f]{40}$ ]] || die "commit '$sha' is not a full SHA-1"

# newer A B: A is a strictly higher MAJOR.MINOR.PATCH than B.
newer() { [[ $1 != "$2" && $(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n1) == "$1" ]]; }

highest_major= # highest release of TAG's major, other than TAG itself
highest_all=   # highest release of any major, other than TAG itself
while read -r name commit rest || [[ -n ${name:-} ]]; do
	[[ -n ${name:-} && $name != \#* ]] || continue
	[[ -z ${rest:-} ]] || die "bad tag line: $name $commit $rest"
	if [[ $name == "$tag" ]]; then
		[[ $commit == "$sha" ]] || die "$tag already exists on commit $commit, not $sha: a released version is never moved; release the next version instead"
		continue
	fi
	# Only full releases count: the major tag (v1), pre-releases and other tags never move v1.
	[[ $name =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] || continue
	v="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
	if [[ -z $highest_all ]] || newer "$v" "$highest_all"; then highest_all=$v; fi
	if [[ ${BASH_REMATCH[1]} == "$major" ]] && { [[ -z $highest_major ]] || newer "$v" "$highest_major"; }; then
		highest_major=$v
	fi
done

if [[ -n $highest_major ]]; then
	if newer "$highest_major" "$core"; then
		die "$tag is lower than v$highest_major, the highest release of v$major: releasing it would move v$major and the image's :$major tags back to older code; release a version above v$highest_major"
	fi
	if [[ $highest_major == "$core" ]]; then
		# Only a pre-release can get here: the release itself is $tag's own line.
		die "$tag is a pre-release of v$core, which is already released; release a version above v$core"
	fi
fi

if [[ -n $pre ]]; then
	echo "move-major=false"
	echo "latest=false"
	exit 0
fi
echo "move-major=true"
if [[ -z $highest_all ]] || newer "$core" "$highest_all"; then
	echo "latest=true"
else
	echo "latest=false"
fi
