#!/usr/bin/env node
'use strict';
require('../../../services/controller/bin/sigil-controller.js');
