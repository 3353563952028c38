#!/usr/bin/env node
'use strict';
require('../../../examples/content-service/bin/content-service.js');
