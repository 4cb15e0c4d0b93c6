#!/usr/bin/env bash
# list-release-tags.sh: the repository's version tags (v*.*.*), one "NAME COMMIT" per line, as
# check-release-tag.sh reads them. COMMIT is the commit the tag was made on: the release job moves
# each released tag to a "Release vX.Y.Z: run the prebuilt image ..." commit whose parent is that
# commit, so for such a tag the parent is listed. Run it in a clone that has every tag
# (actions/checkout with fetch-depth: 0).
set -euo pipefail
git tag -l 'v[0-9]*.[0-9]*.[0-9]*' | while IFS= read -r tag; do
	commit=$(git rev-parse --verify --quiet "refs/tags/$tag^{commit}") || continue
	if [[ $(git log -1 --format=%s "$commit") == "Release $tag: run the prebuilt image "* ]]; then
		commit=$(git rev-parse "$commit^")
	fi
	echo "$tag $commit"
done
