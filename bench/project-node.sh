# Sourced by the bench scripts: they run on the project's Node.js (node_modules/.bin/node, what
# npm scripts use), not on whatever node comes first on PATH; NODE_BIN_DIR picks another one,
# e.g. NODE_BIN_DIR=/usr/bin to compare the machine's Node.js.
export PATH="${NODE_BIN_DIR:-$PWD/node_modules/.bin}:$PATH"
