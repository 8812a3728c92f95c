// Lints Cypher statements with Neo4j's own linter (@neo4j-cypher/language-support, `lintCypherQuery`).
//
// stdin:  {"statements": {"NAME": "MATCH ..."}, "labels": [...], "relationshipTypes": [...], "parameters": {...}}
// stdout: {"linter": "<package>@<version>", "results": {"NAME": [{"severity", "message", "line", "column"}]}}
//
// Procedures and functions are checked against the Neo4j 5 catalogue the package ships (its `testData`
// mock schema): a misspelt procedure or function is an error, as on a real server. Labels, relationship
// types and parameters come from the caller: an undeclared parameter is an error, an unknown label a warning.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// The package's ESM build uses extension-less imports that Node cannot resolve; its CommonJS build works.
const { lintCypherQuery, testData } = require('@neo4j-cypher/language-support');
const packageJson = JSON.parse(
  readFileSync(
    new URL('./node_modules/@neo4j-cypher/language-support/package.json', import.meta.url),
    'utf8',
  ),
);

const input = JSON.parse(readFileSync(0, 'utf8'));
// Only Neo4j's built-in procedures (db.*, dbms.*, tx.*) and functions: the linter re-serialises the catalogue
// on every call, and the full mock (plugins included) makes each call several times slower.
const builtIn = (registry, keep) =>
  Object.fromEntries(
    Object.entries(registry).map(([version, entries]) => [
      version,
      Object.fromEntries(Object.entries(entries).filter(([name, entry]) => keep(name, entry))),
    ]),
  );
const catalogue = testData.mockSchema;
const dbSchema = {
  labels: input.labels ?? [],
  relationshipTypes: input.relationshipTypes ?? [],
  parameters: input.parameters ?? {},
  procedures: builtIn(catalogue.procedures, (name) => /^(db|dbms|tx)\./.test(name)),
  functions: builtIn(catalogue.functions, (_, entry) => entry.isBuiltIn),
};
const severities = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };

const results = {};
for (const [name, statement] of Object.entries(input.statements ?? {})) {
  results[name] = lintCypherQuery(statement, dbSchema).map((diagnostic) => ({
    severity: severities[diagnostic.severity] ?? String(diagnostic.severity),
    message: diagnostic.message,
    line: diagnostic.range.start.line + 1,
    column: diagnostic.range.start.character + 1,
  }));
}
process.stdout.write(
  JSON.stringify({ linter: `${packageJson.name}@${packageJson.version}`, results }) + '\n',
);
