#!/usr/bin/env node
// Writes docs/errors.md from the error catalogue (packages/errors/src/catalogue.ts).
//
//   pnpm docs:errors
//
// packages/errors/src/internal/error-docs.test.ts fails when the committed file is not current.
'use strict';
require('./register-ts.js');
const fs = require('node:fs');
const path = require('node:path');
const {
  ERROR_DOCS_PATH,
  renderErrorDocs,
} = require('../packages/errors/src/internal/error-docs.ts');

const target = path.join(__dirname, '..', ERROR_DOCS_PATH);
fs.writeFileSync(target, renderErrorDocs());
console.log(`wrote ${ERROR_DOCS_PATH}`);
