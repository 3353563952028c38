#!/usr/bin/env node
'use strict';
require('../../../packages/cli/bin/sigil.js');
