#!/usr/bin/env node
// Committed shim so pnpm can link the bin before the first build; the code is compiled to dist/.
import '../dist/src/main.js'
