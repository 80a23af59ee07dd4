// Runs the CMS hospital price transparency validator on one file and prints its result as JSON:
//   node validate.mjs <file.json|file.csv> [version]
// {"file": ..., "valid": bool, "errors": [{"path", "field", "message"}], "alerts": [...]}
import { createReadStream } from "node:fs";
import { validateCsv, validateJson } from "@cmsgov/hpt-validator";

const [file, version = "3.0.0"] = process.argv.slice(2);
if (!file) {
  console.error("usage: node validate.mjs <file.json|file.csv> [version]");
  process.exit(2);
}
const validate = file.toLowerCase().endsWith(".csv") ? validateCsv : validateJson;
const result = await validate(createReadStream(file), version, { maxErrors: 1000 });
const plain = (items) => items.map(({ path, field, message }) => ({ path: String(path ?? ""), field: field ?? null, message }));
console.log(JSON.stringify({ file, version, valid: result.valid, errors: plain(result.errors), alerts: plain(result.alerts) }));
