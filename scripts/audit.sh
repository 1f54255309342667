#!/usr/bin/env bash
# `npm audit` gate for CI: fails on high or critical advisories in the locked dependency tree.
# When nothing could be checked (the registry answers 405/404 to the audit endpoint, no network, or
# npm printed no report that parses) it FAILS too: a gate that cannot decide must not pass silently.
# ENVCTL_AUDIT_UNAVAILABLE_OK=1 turns only that case into a loud warning and exit 0 (for a machine
# whose registry mirror has no audit endpoint; say why where you set it). Advisories always fail.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
report="$(npm audit --audit-level=high --json 2>/dev/null)"
status=$?
if [ "$status" -eq 0 ]; then
  echo "npm audit: no high or critical advisories"
  exit 0
fi
unavailable() {
  echo "npm audit: AUDIT ENDPOINT UNAVAILABLE ($1): NOTHING WAS CHECKED" >&2
  case "${ENVCTL_AUDIT_UNAVAILABLE_OK:-}" in
    1 | true | yes)
      echo "npm audit: not failing because ENVCTL_AUDIT_UNAVAILABLE_OK=${ENVCTL_AUDIT_UNAVAILABLE_OK} (dependencies are NOT audited on this machine)" >&2
      exit 0
      ;;
  esac
  echo "npm audit: failing; set ENVCTL_AUDIT_UNAVAILABLE_OK=1 only where the registry is known to have no audit endpoint" >&2
  exit 1
}
# Exit 0: advisories were counted (none high); 1: high/critical advisories (listed); 3: endpoint unavailable; 4: no parseable report.
verdict="$(printf '%s' "$report" | node -e '
  let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
    let doc; try { doc = JSON.parse(text); } catch { process.exit(4); }
    if (doc === null || typeof doc !== "object") process.exit(4);
    const unavailable = doc.statusCode !== undefined || (doc.error && !doc.vulnerabilities) || doc.code === "ENOAUDIT";
    if (unavailable) { console.log(String(doc.message ?? doc.error?.summary ?? doc.code ?? "npm error")); process.exit(3); }
    if (!doc.metadata?.vulnerabilities) process.exit(4);
    const counts = doc.metadata.vulnerabilities;
    console.error(`npm audit: ${counts.critical ?? 0} critical, ${counts.high ?? 0} high advisories`);
    for (const [name, v] of Object.entries(doc.vulnerabilities ?? {})) if (v.severity === "high" || v.severity === "critical") console.error(`  ${v.severity}: ${name} ${v.range ?? ""}`);
    process.exit((counts.critical ?? 0) + (counts.high ?? 0) > 0 ? 1 : 0);
  });')"
case $? in
  0) echo "npm audit: no high or critical advisories"; exit 0 ;;
  3) unavailable "$verdict" ;;
  4) unavailable "npm exited $status without a report that parses" ;;
  *) exit 1 ;;
esac
