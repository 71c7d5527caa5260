"""gunicorn settings for the StellarStream API (uvicorn workers, one per CPU core by default).

    .venv/bin/gunicorn -c deploy/gunicorn.conf.py            # the app is wsgi_app below
    .venv/bin/gunicorn -c deploy/gunicorn.conf.py other.module:app

Every value comes from the StellarStream settings (``STELLARSTREAM_*`` environment variables or
``.env`` in the working directory, which must be the repository root):

    STELLARSTREAM_HOST / STELLARSTREAM_PORT        bind address (127.0.0.1:3000)
    STELLARSTREAM_API_WORKERS                       workers (0 = one per CPU core, the default)
    STELLARSTREAM_API_GRACEFUL_TIMEOUT_SECONDS      in-flight requests get this long on stop (5)
    STELLARSTREAM_API_MAX_REQUESTS                  recycle a worker after N requests (0 = never)
    STELLARSTREAM_VAR_DIR                           pid file var/gunicorn.pid (the health monitor
                                                    finds the master and its workers through it)

Signals to the master: TERM = graceful stop (in-flight requests finish within the graceful
timeout), HUP = zero-downtime reload (new workers with new code, old ones drain), TTIN/TTOU =
one worker more/less. INT (what PM2 sends on stop) is gunicorn's "quick" stop, but uvicorn
workers treat the SIGQUIT it forwards like TERM (finish in-flight requests) and the master still
waits up to the graceful timeout; systemd sends TERM.
"""

from typing import Any

from stellarstream.config import load_settings
from stellarstream.ops import gunicorn as ops
from stellarstream.ops.logging import configure_logging

_settings = load_settings()
configure_logging(_settings.log_level, _settings.log_format)
# Before any worker exists: workers inherit it and prometheus-client then shares their metrics.
_metrics_dir = ops.metrics_dir(_settings)

wsgi_app = "stellarstream.api.asgi:app"
bind = [f"{_settings.host}:{_settings.port}"]
workers = ops.worker_count(_settings)
# uvicorn_worker.UvicornWorker, with a drain step on shutdown (see DrainingServer).
worker_class = "stellarstream.ops.gunicorn.Worker"
graceful_timeout = _settings.api_graceful_timeout_seconds
timeout = 30
keepalive = 5
max_requests = _settings.api_max_requests
max_requests_jitter = _settings.api_max_requests // 10
pidfile = str(_settings.var_dir / "gunicorn.pid")
control_socket = str(_settings.var_dir / "gunicorn.ctl")  # gunicornc (gunicorn >= 25.1)
proc_name = "stellarstream-api"
loglevel = _settings.log_level
errorlog = "-"
accesslog = None
logger_class = "stellarstream.ops.gunicorn.JsonLogger"


def on_starting(server: Any) -> None:
    _settings.var_dir.mkdir(parents=True, exist_ok=True)
    ops.reset_metrics_dir(_metrics_dir)


def when_ready(server: Any) -> None:
    server.log.info(f"api_ready workers={server.num_workers} bind={','.join(bind)}")


def child_exit(server: Any, worker: Any) -> None:
    ops.mark_worker_dead(worker.pid)
