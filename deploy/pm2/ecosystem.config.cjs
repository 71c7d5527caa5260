// PM2 ecosystem for StellarStream: the API (gunicorn + uvicorn workers), the live indexer and the
// health monitor.
//
//   pm2 start deploy/pm2/ecosystem.config.cjs      (deploy/pm2/setup.sh does this and more)
//
// Why no PM2 cluster mode: PM2's cluster mode forks Node.js programs through Node's `cluster`
// module; it cannot share a socket between Python processes. The API's one-worker-per-core
// cluster is gunicorn's: one gunicorn master in a PM2 *fork-mode* app, with uvicorn workers that
// gunicorn forks, watches and replaces. Zero-downtime reload is `pm2 sendSignal SIGHUP
// stellarstream-api` (gunicorn starts new workers, then drains the old ones); `pm2 reload` of a
// fork-mode app is a stop-then-start. See docs/OPERATIONS.md.
//
// Configuration: every STELLARSTREAM_* variable of the shell that runs `pm2 start` reaches the
// apps (`pm2 restart --update-env` picks up changes), and the apps read `.env` in the repository
// root themselves (pydantic-settings). Paths are relative to the repository; logs go to
// var/log/ (STELLARSTREAM_LOG_DIR to change), rotated by pm2-logrotate.
//
// Knobs read here (the rest are the application's own settings):
//   STELLARSTREAM_API_WORKERS    gunicorn workers (default: one per CPU core; read by gunicorn)
//   STELLARSTREAM_LOG_DIR        log folder (default var/log)
//   STELLARSTREAM_VENV           the Python environment (default .venv)
//   STELLARSTREAM_GUNICORN_APP   ASGI app gunicorn serves (default stellarstream.api.asgi:app)

"use strict";

const path = require("path");

const root = path.resolve(__dirname, "..", "..");
const env = process.env;
const venv = path.resolve(root, env.STELLARSTREAM_VENV || ".venv");
const bin = (name) => path.join(venv, "bin", name);
const logDir = path.resolve(root, env.STELLARSTREAM_LOG_DIR || path.join("var", "log"));
const log = (name, stream) => path.join(logDir, `${name}-${stream}.log`);

// Shared by the three apps: Python programs started directly (no Node interpreter), restarted
// with exponential back-off (100 ms, x1.5 per restart up to 15 s, reset after 30 s up).
// Stopping: PM2 signals the whole process tree with SIGINT (PM2_KILL_SIGNAL, daemon-wide; PM2 has
// no per-app signal), then SIGKILL after kill_timeout. All three stop gracefully on it: gunicorn
// tells its uvicorn workers to stop accepting and finish their requests (up to the graceful
// timeout), the indexer finishes the batch it is committing, the monitor just exits.
const common = {
  cwd: root,
  interpreter: "none",
  exec_mode: "fork",
  instances: 1,
  autorestart: true,
  exp_backoff_restart_delay: 100,
  kill_timeout: 5000,
  log_date_format: "YYYY-MM-DD HH:mm:ss.SSS Z",
  merge_logs: true,
  env: {
    PYTHONUNBUFFERED: "1",
  },
};

module.exports = {
  apps: [
    {
      ...common,
      name: "stellarstream-api",
      script: bin("gunicorn"),
      args: [
        "--config",
        path.join(root, "deploy", "gunicorn.conf.py"),
        env.STELLARSTREAM_GUNICORN_APP || "stellarstream.api.asgi:app",
      ],
      // gunicorn's graceful timeout is 5 s (STELLARSTREAM_API_GRACEFUL_TIMEOUT_SECONDS); PM2
      // sends SIGKILL to the whole process tree (master and workers) after kill_timeout.
      kill_timeout: 5000,
      treekill: true,
      // Memory of the gunicorn master only (PM2 measures one pid). Workers over 500 MB are
      // replaced one by one by stellarstream-monitor, without dropping the others.
      max_memory_restart: "500M",
      out_file: log("api", "out"),
      error_file: log("api", "error"),
    },
    {
      ...common,
      name: "stellarstream-indexer",
      script: bin("stellarstream"),
      args: ["indexer"],
      max_memory_restart: "300M",
      // Exit 2 is a configuration error (no contract, no RPC URL): restarting will not fix it.
      stop_exit_codes: [2],
      out_file: log("indexer", "out"),
      error_file: log("indexer", "error"),
    },
    {
      ...common,
      name: "stellarstream-monitor",
      script: bin("stellarstream"),
      args: ["monitor"],
      max_memory_restart: "200M",
      out_file: log("monitor", "out"),
      error_file: log("monitor", "error"),
    },
  ],
};
