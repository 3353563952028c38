#!/usr/bin/env node
'use strict';
require('../../../services/tunneler/bin/sigil-tunneler.js');
