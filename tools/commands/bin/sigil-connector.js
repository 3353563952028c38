#!/usr/bin/env node
'use strict';
require('../../../services/connector/bin/sigil-connector.js');
