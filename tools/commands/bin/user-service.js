#!/usr/bin/env node
'use strict';
require('../../../examples/user-service/bin/user-service.js');
