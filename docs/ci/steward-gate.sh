#!/bin/sh
# Steward's license gate for any CI system: judge the dependency license
# drift between the change's base and head, write the reports, and exit
# with the gate's verdict. POSIX sh; needs `steward` and git history for
# both commits (fetch depth 0, or at least the merge base).
#
#   STEWARD_BASE        old revision [default: from the CI's variables, else origin/main]
#   STEWARD_HEAD        new revision [default: HEAD]
#   STEWARD_BIN         the steward binary [default: steward]
#   STEWARD_OUT         report directory [default: steward-report]
#   STEWARD_REVIEW_EXIT exit code for "review" [default: 3; 0 lets the job pass]
#   STEWARD_ARGS        more `steward gate` arguments (e.g. --policies policies)
#
# Writes $STEWARD_OUT/gate.md (Markdown, also appended to GitHub's job
# summary when $GITHUB_STEP_SUMMARY is set), gate.sarif (SARIF 2.1.0 for
# code scanning) and gate.json (steward.gate/v1). Exit codes: 0 allow,
# 1 deny, 2 error, 3 review (or $STEWARD_REVIEW_EXIT).
set -u

bin=${STEWARD_BIN:-steward}
out=${STEWARD_OUT:-steward-report}
head=${STEWARD_HEAD:-HEAD}
if [ -n "${STEWARD_BASE:-}" ]; then
  base=$STEWARD_BASE
elif [ -n "${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}" ]; then
  base=$CI_MERGE_REQUEST_DIFF_BASE_SHA                 # GitLab merge request pipelines
elif [ -n "${GITHUB_BASE_REF:-}" ]; then
  base=origin/$GITHUB_BASE_REF                          # GitHub pull_request workflows
elif [ -n "${CI_DEFAULT_BRANCH:-}" ]; then
  base=origin/$CI_DEFAULT_BRANCH
else
  base=origin/main
fi

mkdir -p "$out" || exit 2
# The Markdown run decides the exit code; the other formats follow the
# same inputs and policy, so they carry the same verdict.
# shellcheck disable=SC2086
"$bin" gate --base "$base" --head "$head" --format markdown --output "$out/gate.md" ${STEWARD_ARGS:-}
code=$?
if [ "$code" -ne 2 ]; then
  # shellcheck disable=SC2086
  "$bin" gate --base "$base" --head "$head" --format sarif --output "$out/gate.sarif" ${STEWARD_ARGS:-} >/dev/null
  # shellcheck disable=SC2086
  "$bin" gate --base "$base" --head "$head" --format json --output "$out/gate.json" ${STEWARD_ARGS:-} >/dev/null
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$out/gate.md" ]; then
  cat "$out/gate.md" >>"$GITHUB_STEP_SUMMARY"
fi
case $code in
  0) echo "steward: allow ($base..$head)" ;;
  1) echo "steward: deny: license drift the policy denies ($base..$head), see $out/gate.md" >&2 ;;
  3) echo "steward: review: a person must look at this drift ($base..$head), see $out/gate.md" >&2
     code=${STEWARD_REVIEW_EXIT:-3} ;;
  *) echo "steward: error: the gate could not judge $base..$head" >&2 ;;
esac
exit "$code"
