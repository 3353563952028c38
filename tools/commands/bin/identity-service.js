#!/usr/bin/env node
'use strict';
require('../../../examples/identity-service/bin/identity-service.js');
