# The code-runtime Actor image. Debian (glibc), not Apify's Alpine images: Deno's npm binaries are
# glibc-only. Stage 1 compiles TypeScript with the dev dependencies and bundles the guest; stage 2
# holds production dependencies, the compiled dist/ (with the guest as the one module Deno runs),
# and nothing else.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` builds, and the sources are not copied yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY types ./types
COPY orchestrator ./orchestrator
COPY guest ./guest
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Resolve the Deno binary now, as root: it is linked into node_modules/deno/ where the run's
# non-root user could not write. Perl with POSIX and Socket (perl-base, essential in Debian) runs the
# spawner that forks every sandbox; `setpriv` (util-linux, also essential) starts them without it.
# --ignore-scripts: `prepare` would build, which needs the dev dependencies; dist/ comes from stage 1.
# The Apify SDK (`apify`, with crawlee) is for the Actor alone: the package lists it as an optional
# peer, so embedders never install it, and as a dev dependency, so the lockfile pins it. The image
# makes it a production dependency first, and installs it at the locked version with the rest.
RUN npm pkg set "dependencies.apify=$(npm pkg get devDependencies.apify | tr -d '"')" \
 && npm pkg delete devDependencies.apify \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && test -f node_modules/apify/package.json \
 && node -e "require('deno/install_api.cjs').runInstall()" \
 && node_modules/deno/deno --version \
 && setpriv --version \
 && perl -e 'use POSIX (); use Socket (); print "perl $]\n"'
COPY --from=build /app/dist/orchestrator ./dist/orchestrator
COPY --from=build /app/dist/types ./dist/types
COPY --from=build /app/dist/guest ./dist/guest
COPY types ./types
# The spawner's Perl program (beside the compiled code) compiles with this image's perl and modules.
RUN perl -c dist/orchestrator/run/spawner.pl
# `node` (uid 1000) comes with the base image; the script's sandbox inherits this user.
USER node
CMD ["node", "dist/orchestrator/bin/actor.js"]
