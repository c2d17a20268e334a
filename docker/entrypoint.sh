#!/bin/sh
# Container entrypoint for the stocky image.
#
#   start (the default command): train the default ticker (STOCKY_DEFAULT_TICKER) when no
#       champion model exists yet, then serve the API on STOCKY_HOST:STOCKY_PORT
#       (0.0.0.0:8000 in the image). Offline, training uses the bundled prices.
#   anything else: run it as given, e.g. `stocky train --all`, `stocky scheduler`, `mlflow server`.
set -eu

if [ "$#" -eq 0 ] || [ "$1" = "start" ]; then
    stocky train --if-missing
    exec stocky serve
fi

exec "$@"
