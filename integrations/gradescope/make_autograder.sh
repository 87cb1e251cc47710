#!/usr/bin/env bash
# Builds the zip to upload as a Gradescope "Zip file upload" autograder: setup.sh and run_autograder at
# its root, beside the kit and your unroll.env (UNROLL_URL, UNROLL_ASSIGNMENT, UNROLL_TOKEN).
#   integrations/gradescope/make_autograder.sh path/to/unroll.env [out.zip]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_file="${1:?usage: make_autograder.sh path/to/unroll.env [out.zip]}"
out="$(realpath -m "${2:-autograder.zip}")"
for k in UNROLL_URL UNROLL_ASSIGNMENT UNROLL_TOKEN; do
  grep -q "^$k=" "$env_file" || { echo "$env_file has no $k=" >&2; exit 1; }
done
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$here/setup.sh" "$here/run_autograder" "$here/../common/unroll_kit.py" "$stage/"
cp "$env_file" "$stage/unroll.env"
chmod +x "$stage/setup.sh" "$stage/run_autograder"
(cd "$stage" && python3 -m zipfile -c "$out" setup.sh run_autograder unroll_kit.py unroll.env)
echo "wrote $out"
