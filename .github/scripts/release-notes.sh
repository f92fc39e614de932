#!/usr/bin/env bash
# Prints the CHANGELOG.md section of one version (the lines under "## [X.Y.Z]" up to the next
# "## " heading), for the GitHub release's notes. Fails, so that nothing is published, when the
# version is not Cargo.toml's or when its section is missing or empty.
set -euo pipefail
version="${1:?usage: release-notes.sh X.Y.Z}"
cd "$(dirname "$0")/../.."

cargo_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
if [ "$cargo_version" != "$version" ]; then
  echo "the tag says $version but Cargo.toml says $cargo_version" >&2
  exit 1
fi

notes=$(awk -v v="$version" '
  index($0, "## [" v "]") == 1 { inside = 1; next }
  inside && /^## / { exit }
  inside { print }
' CHANGELOG.md)
if [ -z "${notes//[[:space:]]/}" ]; then
  echo "CHANGELOG.md has no notes under \"## [$version]\"" >&2
  exit 1
fi
printf '%s\n' "$notes"
