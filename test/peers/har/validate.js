// Validates HAR files against the HAR 1.2 JSON Schema with har-validator
// (the schema browsers' exporters and request libraries use). Prints
// "VALID <file> <entries>" per file, or "INVALID <file> <errors as JSON>"
// and exits 1.
'use strict';
const fs = require('fs');
const path = require('path');
const validator = require(path.join(__dirname, '..', 'node_modules', 'har-validator'));

(async () => {
  let failed = false;
  for (const file of process.argv.slice(2)) {
    const har = JSON.parse(fs.readFileSync(file, 'utf8'));
    try {
      await validator.har(har);
      console.log(`VALID ${path.basename(file)} ${har.log.entries.length}`);
    } catch (e) {
      failed = true;
      console.log(`INVALID ${path.basename(file)} ${JSON.stringify(e.errors || e.message)}`);
    }
  }
  process.exit(failed ? 1 : 0);
})();
