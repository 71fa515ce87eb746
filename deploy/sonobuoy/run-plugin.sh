#!/bin/bash
# The runner image's Sonobuoy entrypoint: pullcheck against the pod's own cluster, then its report
# handed to Sonobuoy's worker by its contract (results in $SONOBUOY_RESULTS_DIR, a `done` file
# naming the file to collect). Arguments go to `pullcheck run` after --in-cluster.
#
# The plugin's settings come from its environment, so that `sonobuoy run --plugin-env
# pullcheck.NAME=VALUE` changes them without editing the plugin definition:
#   PULLCHECK_SUITES   comma-separated suites (--suite)      PULLCHECK_FOCUS  regex of scenario IDs to run (--focus)
#   PULLCHECK_SKIP     regex of scenario IDs to skip (--skip) PULLCHECK_TIMEOUT per-scenario deadline (--timeout)
#   PULLCHECK_REGISTRY, _USERNAME, _PASSWORD, _CA, _REPOSITORY_PREFIX, _PUBLIC_PREFIX: read by pullcheck itself
# A registry CA mounted from a Secret at /etc/pullcheck/registry-ca/ca.crt is used when PULLCHECK_REGISTRY_CA is unset.
# Progress goes to the Sonobuoy worker (SONOBUOY_PROGRESS_PORT, set by Sonobuoy), which `sonobuoy status` shows.
set -u
results="${SONOBUOY_RESULTS_DIR:-/tmp/sonobuoy/results}"
# On a read-only root filesystem (the plugin's securityContext) the cache (logs, test images) moves
# to /tmp, with the image's prebuilt programs linked in so that they are still found there.
seed="${PULLCHECK_CACHE_DIR:-/var/cache/pullcheck}"
if [ ! -w "$seed" ]; then
  export PULLCHECK_CACHE_DIR="${TMPDIR:-/tmp}/pullcheck-cache"
  mkdir -p "$PULLCHECK_CACHE_DIR/bin"
  for program in "$seed"/bin/*; do [ -e "$program" ] && ln -sfn "$program" "$PULLCHECK_CACHE_DIR/bin/"; done
fi
reports=/tmp/pullcheck-reports
mkdir -p "$results"
selection=()
if [ -n "${PULLCHECK_SUITES:-}" ]; then selection+=(--suite "$PULLCHECK_SUITES"); fi
if [ -n "${PULLCHECK_FOCUS:-}" ]; then selection+=(--focus "$PULLCHECK_FOCUS"); fi
if [ -n "${PULLCHECK_SKIP:-}" ]; then selection+=(--skip "$PULLCHECK_SKIP"); fi
if [ -n "${PULLCHECK_TIMEOUT:-}" ]; then selection+=(--timeout "$PULLCHECK_TIMEOUT"); fi
ca_secret=/etc/pullcheck/registry-ca/ca.crt
if [ -z "${PULLCHECK_REGISTRY_CA:-}" ] && [ -f "$ca_secret" ]; then export PULLCHECK_REGISTRY_CA="$ca_secret"; fi
pullcheck run --in-cluster --report-dir "$reports" "${selection[@]}" "$@"
code=$?
if [ -f "$reports/latest/junit.xml" ]; then
  tar -czf "$results/pullcheck.tar.gz" -C "$reports/latest/" .
else
  # No report (bad usage, an unreachable registry): one failed testcase says so, so that Sonobuoy
  # shows a failure rather than waiting for results that never come.
  mkdir -p /tmp/pullcheck-error
  cat > /tmp/pullcheck-error/junit.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="pullcheck" tests="1" failures="1">
  <testsuite name="pullcheck" tests="1" failures="1">
    <testcase classname="pullcheck" name="pullcheck run"><failure message="pullcheck run exited ${code} before writing a report; see the plugin's log"/></testcase>
  </testsuite>
</testsuites>
XML
  tar -czf "$results/pullcheck.tar.gz" -C /tmp/pullcheck-error .
fi
printf '%s' "$results/pullcheck.tar.gz" > "$results/done"
exit "$code"
