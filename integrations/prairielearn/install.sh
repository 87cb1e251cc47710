#!/usr/bin/env bash
# Copies the kit into a PrairieLearn course: serverFilesCourse/unroll/ (the entrypoint, the kit and your
# unroll.env) and an example question, questions/unroll-myrnn/ (file upload of myrnn.py, external grading).
#   integrations/prairielearn/install.sh path/to/course path/to/unroll.env
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
course="${1:?usage: install.sh path/to/course path/to/unroll.env}"
env_file="${2:?usage: install.sh path/to/course path/to/unroll.env}"
mkdir -p "$course/serverFilesCourse/unroll" "$course/questions/unroll-myrnn"
cp "$here/serverFilesCourse/unroll/run" "$here/../common/unroll_kit.py" "$course/serverFilesCourse/unroll/"
cp "$env_file" "$course/serverFilesCourse/unroll/unroll.env"
chmod +x "$course/serverFilesCourse/unroll/run"
cp -r "$here/questions/myrnn/." "$course/questions/unroll-myrnn/"
echo "installed into $course (question questions/unroll-myrnn; give it a fresh uuid in info.json)"
