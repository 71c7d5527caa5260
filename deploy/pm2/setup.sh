#!/usr/bin/env bash
# Install and run StellarStream under PM2. Idempotent: rerun it after every update.
#
#   deploy/pm2/setup.sh [--skip-python] [--skip-migrations] [--skip-startup]
#
#  1. pm2 from npm (npm install -g pm2@PM2_VERSION, unless that version is already there)
#  2. pm2-logrotate (pm2 install: from the npm registry) and its settings: 100M per file, keep 7,
#     gzip, dated names (YYYY-MM-DD_HH-mm-ss), rotate daily at midnight. Version 2.7.0: 3.0.0
#     ignores `compress true` (PM2 hands modules "true" as a boolean, 3.0.0 only accepts the
#     string), so its rotated files are never gzipped.
#  3. the Python environment (uv sync --locked --no-dev)
#  4. database migrations (stellarstream db upgrade)
#  5. the three apps of ecosystem.config.cjs: started if absent; on a rerun the API reloads
#     without downtime (gunicorn HUP) and the indexer and monitor restart with the new code
#  6. pm2 save (the process list comes back on boot) and pm2 startup (start PM2 on boot: done
#     when root with systemd running, else the command to run is printed)
#
# Environment: PM2_HOME (PM2's state, default ~/.pm2), PM2_PREFIX (install pm2 under this npm
# prefix instead of npm's global one), PM2_VERSION, PM2_LOGROTATE_VERSION, LOGROTATE_MAX_SIZE,
# LOGROTATE_RETAIN, LOGROTATE_COMPRESS, LOGROTATE_INTERVAL (cron), LOGROTATE_WORKER_INTERVAL
# (seconds between size checks); STELLARSTREAM_* (and .env) configure the apps.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ECOSYSTEM="$ROOT/deploy/pm2/ecosystem.config.cjs"
APPS=(stellarstream-api stellarstream-indexer stellarstream-monitor)

PM2_VERSION="${PM2_VERSION:-7.0.4}"
PM2_LOGROTATE_VERSION="${PM2_LOGROTATE_VERSION:-2.7.0}"
LOGROTATE_MAX_SIZE="${LOGROTATE_MAX_SIZE:-100M}"
LOGROTATE_RETAIN="${LOGROTATE_RETAIN:-7}"
LOGROTATE_COMPRESS="${LOGROTATE_COMPRESS:-true}"
LOGROTATE_DATE_FORMAT="YYYY-MM-DD_HH-mm-ss"
LOGROTATE_INTERVAL="${LOGROTATE_INTERVAL:-0 0 * * *}"
LOGROTATE_WORKER_INTERVAL="${LOGROTATE_WORKER_INTERVAL:-30}"

skip_python=0 skip_migrations=0 skip_startup=0
for arg in "$@"; do
  case "$arg" in
    --skip-python) skip_python=1 ;;
    --skip-migrations) skip_migrations=1 ;;
    --skip-startup) skip_startup=1 ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '== %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

cd "$ROOT"
command -v node >/dev/null 2>&1 || die "node is not installed (Node.js 18 or newer, with npm)"
command -v npm >/dev/null 2>&1 || die "npm is not installed (it comes with Node.js)"

# --- 1. pm2 ----------------------------------------------------------------------------------
if [[ -n "${PM2_PREFIX:-}" ]]; then
  npm_global=(npm install --global --prefix "$PM2_PREFIX" --no-audit --no-fund --loglevel=error)
  npm_root="$PM2_PREFIX/lib/node_modules"
  PM2="$PM2_PREFIX/bin/pm2"
else
  npm_global=(npm install --global --no-audit --no-fund --loglevel=error)
  npm_root="$(npm root --global)"
  PM2="$(npm prefix --global)/bin/pm2"
fi
installed="$(node -p "try { require('$npm_root/pm2/package.json').version } catch (e) { '' }")"
if [[ "$installed" == "$PM2_VERSION" ]]; then
  say "pm2 $PM2_VERSION already installed"
else
  say "installing pm2 $PM2_VERSION from npm${installed:+ (replacing $installed)}"
  "${npm_global[@]}" "pm2@$PM2_VERSION"
fi
[[ -x "$PM2" ]] || die "pm2 is not at $PM2 after installing it"
export PATH="$(dirname "$PM2"):$PATH"

# --- 2. pm2-logrotate --------------------------------------------------------------------------
pm2_apps() { # names of the apps PM2 knows, with their status: "name status" per line
  "$PM2" jlist | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const list = JSON.parse(s.slice(s.indexOf("[")));
      for (const p of list) console.log(p.name + " " + p.pm2_env.status);
    });'
}
if pm2_apps | grep -q '^pm2-logrotate '; then
  say "pm2-logrotate already installed"
else
  say "installing pm2-logrotate $PM2_LOGROTATE_VERSION (pm2 install, from npm)"
  "$PM2" install "pm2-logrotate@$PM2_LOGROTATE_VERSION" >/dev/null
fi
say "log rotation: max_size=$LOGROTATE_MAX_SIZE retain=$LOGROTATE_RETAIN compress=$LOGROTATE_COMPRESS"
"$PM2" set pm2-logrotate:max_size "$LOGROTATE_MAX_SIZE" >/dev/null
"$PM2" set pm2-logrotate:retain "$LOGROTATE_RETAIN" >/dev/null
"$PM2" set pm2-logrotate:compress "$LOGROTATE_COMPRESS" >/dev/null
"$PM2" set pm2-logrotate:dateFormat "$LOGROTATE_DATE_FORMAT" >/dev/null
"$PM2" set pm2-logrotate:rotateInterval "$LOGROTATE_INTERVAL" >/dev/null
"$PM2" set pm2-logrotate:workerInterval "$LOGROTATE_WORKER_INTERVAL" >/dev/null
"$PM2" set pm2-logrotate:rotateModule true >/dev/null

# --- 3. Python environment ---------------------------------------------------------------------
if [[ $skip_python == 0 ]]; then
  if command -v uv >/dev/null 2>&1; then uv=(uv); else uv=(python3 -m uv); fi
  "${uv[@]}" --version >/dev/null 2>&1 || die "uv is not installed: python3 -m pip install uv"
  say "python environment (uv sync --locked --no-dev)"
  "${uv[@]}" sync --locked --no-dev --quiet
fi
[[ -x "$ROOT/.venv/bin/stellarstream" ]] || die "no .venv/bin/stellarstream: run uv sync first"

# --- 4. migrations -----------------------------------------------------------------------------
if [[ $skip_migrations == 0 ]]; then
  say "database migrations"
  "$ROOT/.venv/bin/stellarstream" db upgrade
fi

# --- 5. the apps -------------------------------------------------------------------------------
mkdir -p "${STELLARSTREAM_LOG_DIR:-var/log}"
known="$(pm2_apps)"
for app in "${APPS[@]}"; do
  status="$(awk -v a="$app" '$1 == a { print $2 }' <<<"$known")"
  if [[ "$status" == "online" && "$app" == "stellarstream-api" ]]; then
    say "$app: zero-downtime reload (gunicorn HUP: new workers, old ones drain)"
    "$PM2" sendSignal SIGHUP "$app" >/dev/null
  elif [[ "$status" == "online" ]]; then
    say "$app: restart with the current code and environment"
    "$PM2" restart "$ECOSYSTEM" --only "$app" --update-env >/dev/null
  else
    say "$app: start"
    "$PM2" start "$ECOSYSTEM" --only "$app" >/dev/null
  fi
done
"$PM2" save >/dev/null
say "process list saved to ${PM2_HOME:-$HOME/.pm2}/dump.pm2 (pm2 resurrect restores it)"

# --- 6. start on boot --------------------------------------------------------------------------
if [[ $skip_startup == 1 ]]; then
  say "start on boot: skipped (--skip-startup)"
elif [[ "$(id -u)" != 0 ]]; then
  say "start on boot needs root: run the command pm2 prints below"
  "$PM2" startup || true
elif [[ -d /run/systemd/system ]]; then
  say "start on boot: systemd unit for PM2"
  "$PM2" startup systemd -u "$(id -un)" --hp "$HOME"
else
  say "start on boot: systemd is not running here; on the host that boots this, run as root:"
  echo "  PM2_HOME=${PM2_HOME:-$HOME/.pm2} $PM2 startup systemd -u $(id -un) --hp $HOME"
fi
"$PM2" ls
