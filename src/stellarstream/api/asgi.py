"""The ASGI application for servers that import one (gunicorn with uvicorn workers).

``gunicorn -c deploy/gunicorn.conf.py stellarstream.api.asgi:app``: each worker imports this
module, reads the settings (environment, ``.env``) and builds its own app. Migrations are not
run here: run ``stellarstream db upgrade`` before starting (deploy/pm2/setup.sh does).
"""

from __future__ import annotations

from stellarstream.api.app import create_app
from stellarstream.config import load_settings
from stellarstream.ops.logging import configure_logging

settings = load_settings()
configure_logging(settings.log_level, settings.log_format)
app = create_app(settings)
