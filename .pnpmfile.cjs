// better-sqlite3 compiles from source on machines that cannot download prebuilt binaries or
// Node's headers. Point node-gyp at the headers of the Node that runs the install, when that
// Node has them (Node 20 from a distribution package does, under <prefix>/include/node).
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

const prefix = dirname(dirname(process.execPath));

module.exports = {
  hooks: {
    updateConfig(config) {
      if (
        process.env.npm_config_nodedir ||
        !existsSync(join(prefix, 'include', 'node', 'node_version.h'))
      ) {
        return config;
      }
      return { ...config, extraEnv: { ...config.extraEnv, npm_config_nodedir: prefix } };
    },
  },
};
