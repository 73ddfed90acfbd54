#!/usr/bin/env bash
# The web app's API types from the API itself, in two steps: the OpenAPI document the api
# function serves (python -m flowgen_local.openapi, in-process, into a temporary file), then
# openapi-typescript (npm run types / types:check).
#
#   web/scripts/api-types.sh generate   rewrites web/src/api/schema.d.ts (commit it)
#   web/scripts/api-types.sh check      fails when web/src/api/schema.d.ts is not current (CI)
#
# PYTHON: the interpreter with flowgen installed (default: the repository's .venv). Needs
# web/node_modules (npm ci).
set -euo pipefail

case "${1:-}" in
  generate) script=types ;;
  check) script=types:check ;;
  *) echo "usage: $0 generate|check" >&2; exit 2 ;;
esac

web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(dirname "$web")"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || { echo "api types: no Python at $python (make dev, or set PYTHON)" >&2; exit 1; }
[ -d "$web/node_modules/openapi-typescript" ] || { echo "api types: run npm ci in web/ first" >&2; exit 1; }

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
(cd "$root" && "$python" -m flowgen_local.openapi "$scratch/openapi.json")
cd "$web"
npm run --silent "$script" -- "$scratch/openapi.json"
